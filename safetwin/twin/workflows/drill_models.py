"""SQLAlchemy tables of the drill workflows (plans, drills, evaluations), on the store's ``Base`` (one metadata, one migration
chain; created by ``twin/store/migrations/versions/0004_drills.py``).

* ``drill_emergency_plans`` — the plans that must be drilled (comprehensive / special / onsite);
* ``drill_plan_items`` — the yearly drill plan (DrillPlan.items): plan, content, form, due date, rule,
  scenario, and the drill that carried it out;
* ``drills`` — drills carried out (or planned): plan item, scenario, window, state;
* ``drill_evaluations`` — evaluations with score, grade, finding counts and the full document.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safetwin.twin.store.models import Base
from safetwin.twin.store.types import BigIntId, JsonDoc, UTCDateTime

__all__ = ["EmergencyPlanRow", "PlanItemRow", "DrillRow", "DrillEvaluationRow", "DRILL_TABLES"]

DRILL_TABLES = ("drill_emergency_plans", "drill_plan_items", "drills", "drill_evaluations")


class EmergencyPlanRow(Base):
    """An emergency plan that must be drilled at its statutory interval."""

    __tablename__ = "drill_emergency_plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))          # comprehensive | special | onsite
    title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PlanItemRow(Base):
    """One item of the drill plan: which plan, what kind of drill, due by when, done by which drill."""

    __tablename__ = "drill_plan_items"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requirement: Mapped[str] = mapped_column(String(128))
    content: Mapped[str] = mapped_column(String(16), default="single", server_default="single")
    form: Mapped[str] = mapped_column(String(16), default="live", server_default="live")
    due_by: Mapped[datetime] = mapped_column(UTCDateTime())
    rule: Mapped[str] = mapped_column(Text, default="", server_default="")
    scenario: Mapped[str | None] = mapped_column(String(128), nullable=True)
    drill_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("ix_drill_plan_items_site_id_due_by", "site_id", "due_by"),)


class DrillRow(Base):
    """A drill (演练): its plan item and plan, scenario, window and state."""

    __tablename__ = "drills"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    plan_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    plan_item_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scenario: Mapped[str] = mapped_column(String(128), default="", server_default="")
    title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    content: Mapped[str] = mapped_column(String(16), default="single", server_default="single")
    form: Mapped[str] = mapped_column(String(16), default="live", server_default="live")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    state: Mapped[str] = mapped_column(String(32), default="ended", server_default="ended")

    __table_args__ = (Index("ix_drills_site_id_started_at", "site_id", "started_at"),)


class DrillEvaluationRow(Base):
    """An evaluation of a drill: score, grade, finding counts and the full evaluation document."""

    __tablename__ = "drill_evaluations"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    drill_id: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(128), default="", server_default="")
    source: Mapped[str] = mapped_column(String(16))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(8))
    deficiencies: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rectifications: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    improvements: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    doc: Mapped[dict[str, Any]] = mapped_column(JsonDoc)

    __table_args__ = (Index("ix_drill_evaluations_drill_id", "drill_id"),
                      Index("ix_drill_evaluations_evaluated_at", "evaluated_at"))
