"""Which satellites a command uses: element files or the built-in constellation, filters, element hygiene.

Shared by `passes`, `access` and `revisit` as one set of options collapsed into a `Selection`.
Element hygiene: the same NORAD id given twice keeps its newest elements (said once); staleness is
judged at the end of the period (the last position computed is the worst); elements older than
`AQUILA_MAX_ELEMENT_AGE_DAYS` (30) there are refused unless `--allow-stale`; warnings are one line
each, with the satellites listed under `-v`.
"""

from __future__ import annotations

import fnmatch
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import click

from aquila.cli.render import err
from aquila.config import Settings
from aquila.constellation.assets import Constellation, Satellite
from aquila.constellation.elements import ElementSet, load_elements, newest_per_norad
from aquila.constellation.facts import load_facts
from aquila.constellation.store import apply_facts, effective_facts, load_constellation
from aquila.errors import InputError

__all__ = ["Selection", "selection_options", "select_constellation", "summarise"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Selection:
    """The satellites a command was asked to use."""

    tle_files: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    norad_ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    sensor: str | None = None
    allow_stale: bool = False
    verbose: bool = False
    facts: str | None = None
    include_unknown: bool = False
    max_gsd_m: float | None = None
    max_off_nadir_deg: float | None = None
    incidence: str | None = None
    look_side: str | None = None

    @property
    def incidence_deg(self) -> tuple[float, float] | None:
        """The --incidence band, checked (raised inside the command, so it is one line, exit 2)."""
        return _band(self.incidence)


_OPTIONS = [
    click.option("--tle", "tle_files", multiple=True, type=click.Path(dir_okay=False),
                 help="TLE or OMM file (repeatable); default: the built-in constellation"),
    click.option("--owner", "owners", multiple=True, help="only satellites of this owner (repeatable, any case)"),
    click.option("--norad", "norad_ids", multiple=True, type=int, help="only this NORAD id (repeatable)"),
    click.option("--name", "names", multiple=True, help="only satellites whose name matches this glob (repeatable)"),
    click.option("--sensor", type=click.Choice(["optical", "sar"]), help="only optical or only SAR satellites"),
    click.option("--allow-stale", is_flag=True, help="use elements older than the age limit (positions drift)"),
    click.option("--facts", type=click.Path(dir_okay=False),
                 help="satellite facts (JSON: owner, sensor, GSD, field of regard or incidence band) over the "
                      "built-in ones"),
    click.option("--max-gsd", "max_gsd_m", type=click.FloatRange(0.01, 1000), help="only sensors this sharp or "
                 "sharper (best GSD, metres)"),
    click.option("--max-off-nadir", "max_off_nadir_deg", type=click.FloatRange(0.1, 89),
                 help="cap every sensor's field of regard (deg off nadir), e.g. for a tasking policy"),
    click.option("--incidence", "incidence", help="SAR incidence band to use, MIN,MAX degrees (e.g. 20,45)"),
    click.option("--look-side", type=click.Choice(["right", "left", "both"]),
                 help="the side SAR satellites look to (default: each satellite's facts, e.g. right for Sentinel-1)"),
    click.option("--include-unknown", is_flag=True,
                 help="take satellites without facts as generic optical sensors (owner UNKNOWN, never pooled)"),
    click.option("-v", "--verbose", is_flag=True, help="list the satellites behind each warning"),
]


def selection_options(fn: F) -> F:
    """Add the selection options to a command and hand them to it as one `selection` argument."""

    @functools.wraps(fn)
    def wrapper(*args: Any, tle_files: tuple[str, ...], owners: tuple[str, ...], norad_ids: tuple[int, ...],
                names: tuple[str, ...], sensor: str | None, allow_stale: bool, verbose: bool, facts: str | None,
                include_unknown: bool, max_gsd_m: float | None, max_off_nadir_deg: float | None,
                incidence: str | None, look_side: str | None, **kwargs: Any) -> Any:
        sel = Selection(tle_files, owners, norad_ids, names, sensor, allow_stale, verbose, facts, include_unknown,
                        max_gsd_m, max_off_nadir_deg, incidence, look_side)
        return fn(*args, selection=sel, **kwargs)

    out: Any = wrapper
    for opt in reversed(_OPTIONS):
        out = opt(out)
    return out


def _band(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"{text!r}", field="--incidence", expected="MIN,MAX in degrees, e.g. 20,45") from None
    if not 0 <= lo < hi <= 89:
        raise InputError(f"{text!r}", field="--incidence", expected="0 <= MIN < MAX <= 89 degrees")
    return lo, hi


def _overridden(s: Satellite, sel: Selection) -> Satellite:
    """The satellite with the selection's sensor limits applied (never widened beyond its facts)."""
    sensor = s.sensor
    if sel.max_off_nadir_deg is not None:
        sensor = replace(sensor, max_off_nadir_deg=min(sensor.max_off_nadir_deg, sel.max_off_nadir_deg))
    if sel.incidence_deg is not None and sensor.type.value == "sar":
        lo = max(sensor.min_incidence_deg, sel.incidence_deg[0])
        hi = min(sensor.max_incidence_deg, sel.incidence_deg[1])
        ref = sensor.reference_incidence_deg
        if ref is None:  # the GSD stays referred to the facts' band, not the narrowed one
            ref = 0.5 * (sensor.min_incidence_deg + sensor.max_incidence_deg)
        sensor = replace(sensor, min_incidence_deg=lo, max_incidence_deg=hi,  # lo < hi: the caller filtered
                         reference_incidence_deg=ref)
    if sel.look_side is not None and sensor.type.value == "sar":  # never wider than the facts' side
        sides = _SIDES[s.look_side] & _SIDES[sel.look_side]
        s = replace(s, look_side="both" if len(sides) == 2 else next(iter(sides), "none"))
    return s if sensor is s.sensor else replace(s, sensor=sensor)


_SIDES = {"right": {"right"}, "left": {"left"}, "both": {"right", "left"}, "none": set()}


def summarise(what: str, sats: Sequence[Satellite], detail: Callable[[Satellite], str], verbose: bool,
              level: str = "warning", short: Callable[[Satellite], str] | None = None) -> None:
    """One line for a group of satellites (the first few named), each on its own line with -v."""
    if not sats:
        return

    def name(s: Satellite) -> str:
        return f"{s.name} ({s.norad_id}{', ' + short(s) if short else ''})"

    named = ", ".join(name(s) for s in sats[:3]) + (", ..." if len(sats) > 3 else "")
    more = "" if verbose or len(sats) <= 3 else " (all of them with -v)"
    err.print(f"[yellow]{level}:[/] {len(sats)} {what}: {named}{more}", highlight=False, soft_wrap=True)
    if verbose:
        for s in sats:
            err.print(f"  {s.name} ({s.norad_id}): {detail(s)}", highlight=False, soft_wrap=True)


def _filter(c: Constellation, sel: Selection, imaging: bool = True) -> Constellation:
    for name, v in (("--max-gsd", sel.max_gsd_m), ("--max-off-nadir", sel.max_off_nadir_deg)):
        if v is not None and not math.isfinite(v):
            raise InputError(f"{v!r}", field=name, expected="a finite number")
    sats = list(c)
    if sel.owners:
        wanted = {o.upper() for o in sel.owners}
        sats = [s for s in sats if s.owner.upper() in wanted]
    if sel.norad_ids:
        ids = set(sel.norad_ids)
        sats = [s for s in sats if s.norad_id in ids]
    if sel.names:
        sats = [s for s in sats if any(fnmatch.fnmatchcase(s.name.upper(), g.upper()) for g in sel.names)]
    if sel.sensor:
        sats = [s for s in sats if s.sensor.type.value == sel.sensor]
    if sel.max_gsd_m is not None:
        sats = [s for s in sats if s.sensor.gsd_m <= sel.max_gsd_m]
    imaging_only = [f for f, v in (("--incidence", sel.incidence_deg), ("--look-side", sel.look_side),
                                   ("--max-off-nadir", sel.max_off_nadir_deg)) if v is not None]
    if not imaging:  # visibility passes are geometry: sensor limits do not apply, and we say so
        if imaging_only:
            err.print(f"[yellow]note:[/] {', '.join(imaging_only)} limit imaging (access, revisit), not visibility "
                      "passes", highlight=False, soft_wrap=True)
        return Constellation(sats) if sats else _none_match(sel)
    if sel.incidence_deg is not None:  # SAR satellites whose band does not meet the asked one cannot image
        lo, hi = sel.incidence_deg
        outside = [s for s in sats if s.sensor.type.value == "sar" and
                   max(s.sensor.min_incidence_deg, lo) >= min(s.sensor.max_incidence_deg, hi)]
        summarise(f"SAR satellites left out: their incidence band misses {lo:g}-{hi:g} deg", outside,
                  lambda s: f"band {s.sensor.min_incidence_deg:g}-{s.sensor.max_incidence_deg:g} deg", sel.verbose,
                  level="note")
        sats = [s for s in sats if s not in outside]
    sats = [_overridden(s, sel) for s in sats]
    blind = [s for s in sats if s.look_side == "none"]
    summarise(f"SAR satellites left out: they cannot look {sel.look_side} (their facts)", blind,
              lambda s: "look side in its facts differs", sel.verbose, level="note")
    sats = [s for s in sats if s.look_side != "none"]
    for flag, given in (("--incidence", sel.incidence_deg is not None), ("--look-side", sel.look_side is not None)):
        optical = [s for s in sats if s.sensor.type.value != "sar"]
        if given and optical:  # said once, not silently: these limits are SAR's alone
            err.print(f"[yellow]note:[/] {flag} applies to SAR only; {len(optical)} optical satellite"
                      f"{'s keep their' if len(optical) > 1 else ' keeps its'} field of regard (--sensor sar for "
                      "SAR alone)", highlight=False, soft_wrap=True)
    return Constellation(sats) if sats else _none_match(sel)


def _none_match(sel: Selection) -> Constellation:
    """No satellite is left: say which options asked for what."""
    asked = {"--owner": sel.owners, "--norad": sel.norad_ids, "--name": sel.names,
             "--sensor": (sel.sensor,) if sel.sensor else (),
             "--max-gsd": (sel.max_gsd_m,) if sel.max_gsd_m is not None else (),
             "--incidence": sel.incidence_deg or (), "--look-side": (sel.look_side,) if sel.look_side else ()}
    used = [f"{k} {' '.join(str(v) for v in vs)}" for k, vs in asked.items() if vs]
    raise InputError(f"no satellite matches {'; '.join(used) or 'the selection'}",
                     field=", ".join(k for k, vs in asked.items() if vs) or "--tle",
                     expected="values listed by `aquila constellation list` (owners, NORAD ids, names)")


def _load_files(paths: Sequence[str], verbose: bool) -> list[ElementSet]:
    sets: list[ElementSet] = []
    for p in paths:
        sets.extend(load_elements(p))
    kept = newest_per_norad(sets)
    if len(kept) < len(sets):
        dropped = len(sets) - len(kept)
        err.print(f"[yellow]note:[/] {dropped} duplicate element set{'s' if dropped > 1 else ''} (same NORAD id) "
                  "left out; the newest of each is used", highlight=False, soft_wrap=True)
    return kept


def select_constellation(sel: Selection, settings: Settings, start: datetime, end: datetime,
                         imaging: bool = True) -> Constellation:
    """The satellites to use over [start, end], filtered, with element hygiene applied.

    Imaging, revisit and sharing gain need each satellite's facts; visibility passes (pure
    geometry) take every satellite, those without facts as owner `UNKNOWN`.
    """
    known = load_constellation(settings.data_dir, start)
    if sel.tle_files:
        base = effective_facts(settings.data_dir)
        table = load_facts(sel.facts, base) if sel.facts else base
        c = Constellation.from_element_sets(_load_files(sel.tle_files, sel.verbose), known=known, facts=table,
                                            include_unknown=sel.include_unknown or not imaging)
        if c.left_out:
            first = ", ".join(f"{e.name} ({e.norad_id})" for e in c.left_out[:3]) + \
                (", ..." if len(c.left_out) > 3 else "")
            err.print(f"[yellow]warning:[/] {len(c.left_out)} satellites without facts left out (owner and sensor "
                      f"unknown): {first}; give their facts with --facts FILE, or --include-unknown to take them "
                      "as generic optical sensors that are never pooled", highlight=False, soft_wrap=True)
            if sel.verbose:
                for e in c.left_out:
                    err.print(f"  {e.name} ({e.norad_id}): no facts", highlight=False, soft_wrap=True)
        if not len(c):
            raise InputError("no satellite of the element files has known facts", field="--tle",
                             expected="element sets of known satellites, a --facts file, or --include-unknown")
    else:
        c = apply_facts(known, load_facts(sel.facts, effective_facts(settings.data_dir))) if sel.facts else known
    c = _filter(c, sel, imaging)
    nominal = sum(1 for s in c if s.nominal)
    if nominal:
        err.print(f"[yellow]note:[/] {nominal} of the {len(c)} satellites selected use nominal elements from "
                  "published orbit facts (representative revisit, not actual pass times); "
                  "load current ones with `aquila constellation update`", highlight=False, soft_wrap=True)
    others = sorted({s.owner for s in c if not s.ally})
    if others and imaging:
        n = sum(1 for s in c if not s.ally)
        err.print(f"[yellow]note:[/] {n} satellites of owners outside the alliance ({', '.join(others)}) are "
                  "listed but never pooled", highlight=False, soft_wrap=True)
    limit = settings.max_element_age_days

    def age(s: Satellite) -> float:
        """Days between the elements' epoch and the farthest instant of the period, before or after it."""
        return max(s.elements.age_days(end), -s.elements.age_days(start))

    too_old = sorted((s for s in c if not s.nominal and age(s) > limit), key=lambda s: -age(s))
    if too_old and not sel.allow_stale:
        oldest = too_old[0]
        raise InputError(f"{len(too_old)} satellite(s) have elements more than {limit:g} days from the period "
                         f"(farthest: {oldest.name} ({oldest.norad_id}), {age(oldest):.0f} days)",
                         field="--tle" if sel.tle_files else "elements",
                         expected="current elements (`aquila constellation update`, or a fresh --tle file), a "
                                  "period near their epoch, or --allow-stale to use them anyway")
    stale = sorted((s for s in c if not s.nominal and age(s) > settings.stale_after_days), key=lambda s: -age(s))
    fix = "fresh --tle files" if sel.tle_files else "`aquila constellation update`"
    summarise(f"satellites have elements older than {settings.stale_after_days:g} days at the period's end "
              f"(positions may be off by kilometres; {fix})", stale,
              lambda s: f"{age(s):.1f} days from the period "
                        f"(epoch {s.elements.epoch:%Y-%m-%d %H:%M}Z, {s.elements.source})", sel.verbose,
              short=lambda s: f"{age(s):.1f} days old")
    return c
