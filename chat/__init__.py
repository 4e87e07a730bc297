"""UI helpers of the Chainlit chat app (``chainlit_app.py``): rendering, approvals, dashboard, upload, auth.

Nothing here computes: it calls graphs, tools and analytics and turns their results into chat elements.
Importing a module of this package is cheap; databases, graphs and models are opened on first use.
"""
