"""Objections (异议) and credit repairs (信用修复): an append-only workflow that corrects records and regrades.

An enterprise (through a regulator) disputes one of its records, or applies to have a penalty or a list
entry repaired. The workflow keeps its own record of every step — who filed it, when, against which
source record, the claim, the deadline to answer, the decision, who decided and why — as rows that are
only ever added (`workflow_events`), never changed. A decision is one more row, and a unique constraint
on (id, stage) means that two workers deciding the same objection at once cannot both succeed.

When an objection is upheld the disputed record is removed from the decision's date on; when a repair is
upheld the record is repaired from that date (DOMAIN §2: a repaired record stops counting against the
enterprise). Point in time: months graded before keep their grades; the next month-end run sees the
corrected records (`corrections`, passed to the feature pipeline), and the enterprise is regraded at
once — its latest published month recomputed from the corrected records with the champion — as a
correction row in the grade history marked with the objection's id.

Where it is kept: SQLAlchemy, one code path for the embedded default (SQLite beside the monthly folder,
which serialises writers from every service worker) and for a team's PostgreSQL
(`CREDITGRADE_DATABASE_URL=postgresql+psycopg://...`). The deadline counts working days (Monday to
Friday; public holidays are not modelled), `CREDITGRADE_OBJECTION_DAYS`, 15 by default — no time limit
is cited in DOMAIN, so set it to the local rule.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from creditgrade.features.corrections import Correction, RecordChange, check_owner, corrected
from creditgrade.features.errors import CreditgradeError, NotFound
from creditgrade.features.overrides import OVERRIDE_COLUMNS
from creditgrade.features.pipeline import connect, load_raw
from creditgrade.features.settings import settings
from creditgrade.features.whatif import feature_row
from creditgrade.models.scoring import ScoringModel
from creditgrade.serving.batch import ID_COLUMNS, graded_table
from creditgrade.serving.history import History

KINDS = {"objection": ("objection", "异议", "remove"), "repair": ("credit repair", "信用修复", "repair")}
metadata = sa.MetaData()
EVENTS = sa.Table(
    "workflow_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("objection_id", sa.String(40), nullable=False, index=True),
    sa.Column("stage", sa.String(16), nullable=False),  # filed | decided
    sa.Column("event", sa.String(16), nullable=False),  # filed | upheld | rejected
    sa.Column("kind", sa.String(16), nullable=False),  # objection | repair
    sa.Column("uscc", sa.String(18), nullable=False, index=True),
    sa.Column("record_table", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("day", sa.Date, nullable=False),  # the business date it was filed or decided on
    sa.Column("deadline", sa.Date),
    sa.Column("text", sa.Text, nullable=False),  # the claim, or the decision's reason
    sa.UniqueConstraint("objection_id", "stage", name="one_filing_one_decision"),
)


class ObjectionError(CreditgradeError):
    """A workflow step that cannot be taken; the message names why."""

    code = "objection"


@dataclass(frozen=True)
class Objection:
    """An objection or repair application as its events tell it."""

    id: str
    kind: str
    uscc: str
    record: str  # TABLE:ID
    claim: str
    filed_by: str
    filed_on: str
    deadline: str
    status: str  # open | upheld | rejected
    decided_by: str | None
    decided_on: str | None
    reason: str | None
    overdue: bool

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """A decided objection and, when upheld, the enterprise regraded at once."""

    objection: Objection
    month: str | None  # the published month regraded
    before: dict | None  # grade, score, probability as published
    after: dict | None  # ... and as corrected


def engine(url: str | None = None) -> sa.Engine:
    """The workflow database (created when absent); SQLite by default, any SQLAlchemy URL otherwise."""
    url = url or settings().database_url
    options = {}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        options["connect_args"] = {"timeout": 15}  # seconds a writer waits for another's (short) write
    eng = sa.create_engine(url, **options)
    metadata.create_all(eng)
    return eng


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def deadline_of(filed: dt.date, working_days: int) -> dt.date:
    """`working_days` Monday-to-Friday days after `filed`.

    >>> deadline_of(dt.date(2025, 11, 28), 5)  # a Friday: the next Friday
    datetime.date(2025, 12, 5)
    """
    return np.busday_offset(np.datetime64(filed, "D"), working_days, roll="forward").astype(dt.date)


def file(
    eng: sa.Engine,
    data: Path,
    uscc: str,
    record: str,
    claim: str,
    actor: str,
    *,
    kind: str = "objection",
    day: dt.date | None = None,
) -> Objection:
    """File an objection against one of `uscc`'s records (or a repair application for it)."""
    if kind not in KINDS:
        raise ObjectionError(f"kind {kind!r}: objection or repair", f"类型 {kind!r}：应为 objection 或 repair")
    if not claim.strip():
        raise ObjectionError("say what is disputed (the claim is empty)", "请说明异议内容（内容为空）")
    change = RecordChange.parse(KINDS[kind][2], record)
    check_owner(load_raw(connect(), data, only=[change.table]), uscc, change)
    day = day or dt.date.today()
    prefix = "OBJ" if kind == "objection" else "REP"
    record = (EVENTS.c.record_table == change.table) & (EVENTS.c.record_id == change.record_id)
    with eng.begin() as con:
        _only_writer(con)  # the check, the count and the insert below are one step across every worker
        filed = sa.select(EVENTS.c.objection_id, EVENTS.c.kind).where(record & (EVENTS.c.stage == "filed"))
        decided = sa.select(EVENTS.c.objection_id).where(record & (EVENTS.c.stage == "decided"))
        open_ = con.execute(filed.where(EVENTS.c.objection_id.not_in(decided)).order_by(EVENTS.c.seq)).first()
        if open_ is not None:
            raise ObjectionError(
                f"{change.table}:{change.record_id} already has an open {open_.kind}: {open_.objection_id}",
                f"记录 {change.table}:{change.record_id} 已有未办结的{KINDS[open_.kind][1]}：{open_.objection_id}",
            )
        n = con.execute(sa.select(sa.func.count()).select_from(EVENTS).where(EVENTS.c.stage == "filed")).scalar()
        oid = f"{prefix}-{day:%Y%m%d}-{n + 1:05d}"
        try:
            con.execute(
                EVENTS.insert().values(
                    objection_id=oid,
                    stage="filed",
                    event="filed",
                    kind=kind,
                    uscc=uscc,
                    record_table=change.table,
                    record_id=change.record_id,
                    actor=actor,
                    recorded_at=_now(),
                    day=day,
                    deadline=deadline_of(day, settings().objection_days),
                    text=claim.strip(),
                )
            )
        except sa.exc.IntegrityError:  # a database that could not serialise the step (see _only_writer)
            raise ObjectionError(
                "another filing took the same number a moment ago; try again", "异议编号冲突，请重试"
            ) from None
    return get(eng, oid, today=day)


def _only_writer(con: sa.Connection) -> None:
    """Make the transaction `con` has just begun the database's only writer until it ends, so that reading
    and then adding (is the record already disputed? what is the next number?) cannot interleave with
    another worker doing the same — which numbered two filings alike and exhausted retries under 64 clients.
    SQLite: `BEGIN IMMEDIATE` takes the write lock at once (others wait up to the driver's timeout);
    PostgreSQL: a lock on the events table that conflicts with itself and with writers, not with readers."""
    if con.dialect.name == "sqlite":
        con.exec_driver_sql("BEGIN IMMEDIATE")
    elif con.dialect.name == "postgresql":
        con.execute(sa.text(f"LOCK TABLE {EVENTS.name} IN SHARE ROW EXCLUSIVE MODE"))


def get(eng: sa.Engine, objection_id: str, today: dt.date | None = None) -> Objection:
    found = [o for o in objections(eng, today=today) if o.id == objection_id]
    if not found:
        raise NotFound(f"no objection or repair {objection_id}", f"没有编号为 {objection_id} 的异议或修复申请")
    return found[0]


def objections(
    eng: sa.Engine, *, status: str | None = None, overdue: bool = False, uscc: str | None = None, today=None
) -> list[Objection]:
    """Every objection and repair application, oldest first, as its events tell it."""
    today = today or dt.date.today()
    with eng.connect() as con:
        rows = con.execute(sa.select(EVENTS).order_by(EVENTS.c.seq)).mappings().all()
    filed = {r["objection_id"]: r for r in rows if r["stage"] == "filed"}
    decided = {r["objection_id"]: r for r in rows if r["stage"] == "decided"}
    out = []
    for oid, f in filed.items():
        d = decided.get(oid)
        state = "open" if d is None else d["event"]
        o = Objection(
            id=oid,
            kind=f["kind"],
            uscc=f["uscc"],
            record=f"{f['record_table']}:{f['record_id']}",
            claim=f["text"],
            filed_by=f["actor"],
            filed_on=str(f["day"]),
            deadline=str(f["deadline"]),
            status=state,
            decided_by=None if d is None else d["actor"],
            decided_on=None if d is None else str(d["day"]),
            reason=None if d is None else d["text"],
            overdue=(d is None and f["deadline"] < today) or (d is not None and d["day"] > f["deadline"]),
        )
        if (status is None or o.status == status) and (not overdue or o.overdue) and (uscc is None or o.uscc == uscc):
            out.append(o)
    return out


class OpenDisputes:
    """The records under an open objection or repair application, by enterprise, as the service marks them
    (disputed: still counted until decided). The workflow is asked again at most once every `every` seconds,
    and read again only when an event was added since (its newest sequence number)."""

    def __init__(self, eng: sa.Engine, every: float = 1.0):
        self.eng, self.every = eng, every
        self._lock = threading.Lock()
        self._looked, self._seq, self._open = 0.0, None, {}

    def of(self, uscc: str) -> list[dict]:
        self._refresh()
        return self._open.get(uscc, [])

    def _refresh(self) -> None:
        if time.monotonic() - self._looked < self.every:
            return
        with self._lock:
            if time.monotonic() - self._looked < self.every:
                return
            with self.eng.connect() as con:
                seq = con.execute(sa.select(sa.func.max(EVENTS.c.seq))).scalar()
                if seq != self._seq:
                    decided = sa.select(EVENTS.c.objection_id).where(EVENTS.c.stage == "decided")
                    rows = con.execute(
                        sa.select(EVENTS)
                        .where(EVENTS.c.stage == "filed", EVENTS.c.objection_id.not_in(decided))
                        .order_by(EVENTS.c.seq)
                    ).mappings()
                    found: dict[str, list[dict]] = {}
                    for r in rows:
                        found.setdefault(r["uscc"], []).append(
                            {
                                "id": r["objection_id"],
                                "kind": r["kind"],
                                "record": f"{r['record_table']}:{r['record_id']}",
                                "filed_on": str(r["day"]),
                                "deadline": str(r["deadline"]),
                            }
                        )
                    self._open, self._seq = found, seq
            self._looked = time.monotonic()


def corrections(eng: sa.Engine, until: dt.date | None = None, uscc: str | None = None) -> list[Correction]:
    """The record changes in force at `until` (all when None): upheld objections and repairs."""
    out = []
    for o in objections(eng, status="upheld", uscc=uscc):
        day = dt.date.fromisoformat(o.decided_on or o.filed_on)
        if until is None or day <= until:
            out.append(Correction(RecordChange.parse(KINDS[o.kind][2], o.record), o.uscc, day, o.id))
    return out


def decide(
    eng: sa.Engine,
    objection_id: str,
    uphold: bool,
    reason: str,
    actor: str,
    *,
    day: dt.date | None = None,
    data: Path | None = None,
    root: Path | None = None,
    scoring: ScoringModel | None = None,
) -> Decision:
    """Uphold or reject; when upheld (and `data`, `root` and `scoring` are given) regrade the enterprise at once."""
    if not reason.strip():
        raise ObjectionError("give the decision's reason", "请填写决定理由")
    day = day or dt.date.today()
    o = get(eng, objection_id, today=day)
    if o.status != "open":
        raise ObjectionError(
            f"{o.id} was already decided ({o.status}) on {o.decided_on} by {o.decided_by}",
            f"{o.id} 已于 {o.decided_on} 由 {o.decided_by} 作出决定（{o.status}）",
            code="already_decided",
        )
    if day < dt.date.fromisoformat(o.filed_on):
        raise ObjectionError(
            f"a decision on {day} would precede the filing on {o.filed_on}", f"决定日期 {day} 早于受理日期 {o.filed_on}"
        )
    table, _, record_id = o.record.partition(":")
    # The regrade is worked out before the decision is recorded: a record that cannot be regraded leaves the
    # objection open, not upheld without its new grade.
    planned = None
    if uphold and data is not None and root is not None and scoring is not None:
        planned = _regraded(eng, o, day, Path(data), History(Path(root) / "history"), scoring)
    try:
        with eng.begin() as con:
            con.execute(
                EVENTS.insert().values(
                    objection_id=o.id,
                    stage="decided",
                    event="upheld" if uphold else "rejected",
                    kind=o.kind,
                    uscc=o.uscc,
                    record_table=table,
                    record_id=record_id,
                    actor=actor,
                    recorded_at=_now(),
                    day=day,
                    deadline=None,
                    text=reason.strip(),
                )
            )
    except sa.exc.IntegrityError:
        raise ObjectionError(
            f"{o.id} was decided by someone else a moment ago", f"{o.id} 刚刚已由他人作出决定", code="already_decided"
        ) from None
    decided = get(eng, o.id, today=day)
    if planned is None:
        return Decision(decided, None, None, None)
    month, before, graded, history = planned
    rows = History.rows(graded, month, correction=o.id, corrected_on=day)
    history.write_regraded(graded, o.id, day)  # the whole row, for the service to answer at once
    history.write_correction(rows, o.id)
    from creditgrade.serving.database import sync_when_served

    sync_when_served(history.root.parent, f"{o.id} was upheld and the enterprise regraded", f"{o.id} 已支持并重新分级")
    after = rows.to_pylist()[0]
    return Decision(
        decided,
        str(month),
        before,
        {"grade": after["grade_shenzhen"], "score": after["score"], "probability": after["probability"]},
    )


def _regraded(eng: sa.Engine, o: Objection, day: dt.date, data: Path, history: History, scoring: ScoringModel):
    """(month, the published grade, the graded row, history): the enterprise's latest published month
    recomputed from its records with every upheld change and this one made, graded with `scoring`."""
    month = history.latest()
    if month is None:
        return None
    published = history.of(o.uscc)
    published = published[published.month.astype(str).str[:10] == str(month)]
    this = Correction(RecordChange.parse(KINDS[o.kind][2], o.record), o.uscc, day, o.id)
    raw = corrected(load_raw(connect(), data), [*corrections(eng, uscc=o.uscc), this])
    row = feature_row(raw, month, o.uscc)
    frame = pd.DataFrame([{c: row[c] for c in (*ID_COLUMNS, *OVERRIDE_COLUMNS)}])
    x = np.array([[np.nan if row[f] is None else row[f] for f in scoring.model.features]], dtype=np.float64)
    graded = graded_table(frame, x, scoring, month)
    before = None
    if len(published):
        last = published.iloc[-1]
        before = {"grade": last.grade_shenzhen, "score": float(last.score), "probability": float(last.probability)}
    return month, before, graded, history
