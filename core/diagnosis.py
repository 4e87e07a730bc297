"""The diagnostic answer schema of the failure, performance and general agents: Summary / Causes / Fix /
Verification. Every cause cites the interaction ids or the aggregates it rests on."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Cause(BaseModel):
    """One cause, with the evidence it rests on."""

    statement: str = Field(description="What is wrong, stated with the numbers that show it.")
    evidence_ids: list[str] = Field(default_factory=list, description="Interaction ids that show the cause.")
    aggregates: list[str] = Field(default_factory=list, description="Aggregates (rates, percentiles) it rests on.")
    confidence: float = Field(ge=0, le=1, description="How strongly the evidence supports it.")


class Fix(BaseModel):
    """A remedy, and what it is based on (for example what resolved similar past incidents)."""

    action: str
    based_on: str


class Diagnosis(BaseModel):
    """A grounded answer to an operations question."""

    summary: str
    causes: list[Cause] = Field(default_factory=list)
    fixes: list[Fix] = Field(default_factory=list)
    verification: list[str] = Field(default_factory=list, description="Checks that would confirm the fix worked.")

    def to_markdown(self) -> str:
        """Readable sections for chat and terminals."""
        parts = [f"**Summary**\n\n{self.summary}", "**Causes**"]
        for i, c in enumerate(self.causes, 1):
            cites = ", ".join(c.evidence_ids[:8])
            parts.append(f"{i}. {c.statement} (confidence {c.confidence:.2f})"
                         + (f"\n   - evidence: {cites}" if cites else "")
                         + "".join(f"\n   - {a}" for a in c.aggregates))
        parts.append("**Fix**")
        parts += [f"- {f.action} — {f.based_on}" for f in self.fixes] or ["- no fix is supported by the evidence"]
        parts.append("**Verification**")
        parts += [f"- {v}" for v in self.verification]
        return "\n\n".join(parts)
