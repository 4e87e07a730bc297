"""Routing: which of the nine agents handles a request.

``router.py`` (explicit commands, then a classifier trained on ``data/routing_train.jsonl``), ``keyword_baseline.py``
(the naive baseline it is compared with), ``evaluation.py`` (scoring any router on a labelled set), ``examples.py``
(loading labelled sets), ``models.py``. Offline the classifier itself routes: there is no offline chat handler.
Prompt: ``agents/prompts/router.md`` (the hosted-model router).
"""
