"""CLI commands of the shared library: serve, token (issue, revoke), ingest, audit (verify, checkpoint, list)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aquila.cli.errors import handle_errors
from aquila.cli.render import err
from aquila.errors import InputError

__all__ = ["serve", "token", "collection", "ingest", "audit", "pipelines"]



def _data_option(fn):
    return click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False),
                        help="instance data directory (created if new)")(fn)


@click.command()
@_data_option
@click.option("--host", default="127.0.0.1", show_default=True, help="bind address (loopback by default)")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--max-body-bytes", type=int, default=None, help="largest request body (default 5 MiB)")
@click.option("--pipelines/--no-pipelines", default=True, show_default=True,
              help="run the analytics pipelines' worker (a child process: `aquila pipelines work`)")
@click.option("--read-root", "read_roots", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="for the pipelines: ROOT whose ROOT/<NATION>/ files that nation's items may name by file: href")
@click.option("--aois", type=click.Path(dir_okay=False, exists=True), default=None,
              help="areas of interest (GeoJSON) of the picture's outlook (or AQUILA_AOIS)")
@handle_errors
def serve(data_dir: str, host: str, port: int, max_body_bytes: int | None, pipelines: bool,
          read_roots: tuple[str, ...], aois: str | None) -> None:
    """Serve the STAC API of an instance (creates it when DIR is new), with its analytics pipelines."""
    import subprocess

    import uvicorn

    from aquila.api.app import create_app
    from aquila.config import Settings
    from aquila.instance import Instance
    from aquila.security.tokens import OidcIssuer

    settings = Settings() if aois is None else Settings(aois=Path(aois))
    oidc = None
    if settings.oidc_issuer:
        if not settings.oidc_jwks_url:
            raise InputError("AQUILA_OIDC_ISSUER is set without a JWKS URL", field="AQUILA_OIDC_JWKS_URL",
                             expected="the issuer's JWKS endpoint, e.g. https://idp.example/.well-known/jwks.json")
        oidc = OidcIssuer(settings.oidc_issuer, settings.oidc_jwks_url, settings.oidc_audience)
    app = create_app(Instance.open(data_dir, max_body_bytes=max_body_bytes or settings.max_body_bytes,
                                   max_asset_bytes=settings.max_asset_bytes, oidc=oidc,
                                   query_budget_s=settings.query_budget_s), settings)
    worker = None
    if pipelines:  # a child: a scene that crashes the detector cannot take the API down
        cmd = [sys.executable, "-m", "aquila", "pipelines", "work", "--data", data_dir, "--exit-with-parent"]
        for r in read_roots:
            cmd += ["--read-root", r]
        worker = subprocess.Popen(cmd)
    err.print(f"Aquila shared library on http://{host}:{port}/ (data: {data_dir})"
              + (" with its pipelines' worker" if worker else "") + f"; the operational picture: http://{host}:{port}/cop/")
    try:
        # open alert streams never end by themselves: give them 5 s, then close them, on shutdown
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()


class _TokenGroup(click.Group):
    """`aquila token --nation ...` issues (as before); `aquila token revoke ...` revokes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = ["issue", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_TokenGroup)
def token() -> None:
    """Issue (`aquila token --nation FRA ...`) or revoke (`aquila token revoke`) bearer tokens."""


@token.command("issue")
@_data_option
@click.option("--nation", required=True, help="ISO 3166-1 alpha-3, e.g. FRA")
@click.option("--clearance", required=True, help="NU, NR, NC, NS or CTS")
@click.option("--caveat", "caveats", multiple=True, help="need-to-know caveat held (repeatable)")
@click.option("--role", "roles", multiple=True,
              type=click.Choice(["analyst", "provider", "collection-manager", "admin"]), help="repeatable")
@click.option("--subject", default="", help="who the token is for (default: one of its own, <nation>-user-<12 hex>; "
              "give one to revoke by subject or to keep subscriptions across tokens)")
@click.option("--ttl", default="8h", show_default=True, help="lifetime: 90s, 30m, 8h, 2d (at most 7d)")
@handle_errors
def token_issue(data_dir: str, nation: str, clearance: str, caveats: tuple[str, ...], roles: tuple[str, ...],
                subject: str, ttl: str) -> None:
    """Print a signed bearer token (only the token, on stdout)."""
    from aquila.instance import Instance
    from aquila.security.labels import Classification, Label
    from aquila.security.nations import check_nation
    from aquila.security.policy import Role, User
    from aquila.security.tokens import parse_ttl

    try:
        check_nation(nation)
    except ValueError as exc:
        raise InputError(str(exc), field="--nation", expected="an ISO 3166-1 alpha-3 code such as FRA") from None
    level = Classification.parse(clearance, "--clearance")
    try:
        Label(level, nation, frozenset(), frozenset(caveats))
    except InputError as exc:
        raise InputError(exc.reason, field="--caveat", expected=exc.expected) from None
    user = User(nation, level, frozenset(caveats), frozenset(Role(r) for r in roles), subject)
    ttl_delta = parse_ttl(ttl)
    if caveats:  # only then is the catalog opened: issuing never waits for its writers
        store = Instance.catalog_of(data_dir)
        try:
            store.register_caveats(caveats)
        except InputError as exc:
            raise InputError(exc.reason, field="--caveat", expected=exc.expected) from None
        finally:
            store.close()
    click.echo(Instance.tokens_of(data_dir).issue(user, ttl_delta))


@token.command("revoke")
@_data_option
@click.option("--token", "tok", default=None, help="revoke this token (as printed by `aquila token`)")
@click.option("--jti", default=None, help="revoke the token with this id (its jti claim)")
@click.option("--subject", default=None, help="revoke every token issued to this subject until now")
@handle_errors
def token_revoke(data_dir: str, tok: str | None, jti: str | None, subject: str | None) -> None:
    """Revoke tokens at once, also on a running server (checked on every request)."""
    import time

    from aquila.instance import Instance
    from aquila.security.tokens import MAX_TTL

    if sum(x is not None for x in (tok, jti, subject)) != 1:
        raise InputError("give exactly one", field="--token/--jti/--subject", expected="one of the three options")
    issuer = Instance.tokens_of(data_dir)
    if tok is not None:
        claims = issuer.claims(tok.strip())
        issuer.revocations.revoke_token(claims["jti"], float(claims["exp"]))
        click.echo(json.dumps({"revoked": {"jti": claims["jti"], "sub": claims["sub"]}}))
    elif jti is not None:
        issuer.revocations.revoke_token(jti, time.time() + MAX_TTL.total_seconds())
        click.echo(json.dumps({"revoked": {"jti": jti}}))
    else:
        assert subject is not None
        before = issuer.revocations.revoke_subject(subject)
        click.echo(json.dumps({"revoked": {"subject": subject, "issued_before": before}}))


@click.group()
def collection() -> None:
    """Collections of the shared library, as the instance's operator."""


@collection.command("create")
@_data_option
@click.argument("path", type=click.Path(dir_okay=False))
@handle_errors
def collection_create(data_dir: str, path: str) -> None:
    """Create the STAC Collection in PATH (with its four sec: label members at the top level).

    An existing collection with the same id and label is left as it is. Over HTTP, an admin of the
    originator nation does the same with POST /collections.
    """
    from aquila.instance import Instance
    from aquila.safejson import loads

    try:
        doc = loads(Path(path).read_bytes(), "json")
    except InputError as exc:
        raise InputError(exc.reason, source=path, field=exc.field, expected=exc.expected) from None
    inst = Instance.open(data_dir)
    try:
        created = inst.library.operator_collection(doc, subject="aquila-collection-create")
    except InputError as exc:
        raise InputError(exc.reason, source=path, field=exc.field, expected=exc.expected) from None
    finally:
        inst.close()
    click.echo(json.dumps({"created" if created else "exists": doc["id"]}))


def _item_files(paths: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        q = Path(p)
        if q.is_dir():
            out += sorted(q.rglob("*.json"))
        elif q.exists():
            out.append(q)
        else:
            raise InputError("no such file or directory", source=p, field="path", expected="ITEM.json or a directory")
    return out


@click.command()
@_data_option
@click.argument("paths", nargs=-1, required=True)
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(1, 100000),
              help="items per transaction")
@handle_errors
def ingest(data_dir: str, paths: tuple[str, ...], batch: int) -> None:
    """Publish STAC items (files, FeatureCollections or directories) with a progress bar.

    Each batch is one transaction: when the command reports a count, those items are durable.
    """
    from aquila.catalog.validate import validate_item
    from aquila.instance import Instance
    from aquila.safejson import loads

    inst = Instance.open(data_dir)
    files = _item_files(paths)
    docs: list[tuple[str, dict]] = []
    for f in files:
        try:
            data = loads(f.read_bytes(), "json")
        except InputError as exc:
            raise InputError(exc.reason, source=str(f), field=exc.field, expected=exc.expected) from None
        feats = data.get("features") if isinstance(data, dict) and data.get("type") == "FeatureCollection" else [data]
        if not isinstance(feats, list):
            raise InputError("features is not a list", source=str(f), field="features", expected="a list of STAC Items")
        docs += [(f"{f}#{k}" if len(feats) > 1 else str(f), d) for k, d in enumerate(feats)]
    done = 0
    with Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  disable=not err.is_terminal) as bar:
        task = bar.add_task("ingest", total=len(docs))
        for i in range(0, len(docs), batch):
            rows = []
            for src, d in docs[i:i + batch]:
                try:
                    rows.append(validate_item(d))
                except InputError as exc:
                    raise InputError(exc.reason, source=src, field=exc.field, expected=exc.expected) from None
            done += inst.library.ingest(rows)
            bar.update(task, completed=done)
            if not err.is_terminal:  # a line per durable batch, for scripts (and the crash test)
                print(f"committed {done}", file=sys.stderr, flush=True)
    click.echo(json.dumps({"ingested": done}))


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@_data_option
@click.option("--checkpoint", "checkpoints", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="an exported checkpoint (from `aquila audit checkpoint`) the log must still contain (repeatable)")
@handle_errors
def audit_verify(data_dir: str, checkpoints: tuple[str, ...]) -> None:
    """Walk the keyed chain and check its signed head; exit 1 and say where it breaks.

    Creates nothing: a missing table, head or key is reported as tampering.
    """
    from aquila.instance import Instance
    from aquila.safejson import loads
    from aquila.security.audit import Checkpoint

    cps = [Checkpoint.from_dict(loads(Path(p).read_bytes(), p)) for p in checkpoints]
    res = Instance.verify_audit(data_dir, cps)
    if res.ok:
        click.echo(json.dumps({"ok": True, "entries": res.entries}))
        return
    click.echo(json.dumps({"ok": False, "entries": res.entries, "first_broken": res.first_broken,
                           "reason": res.reason}))
    where = f"at entry {res.first_broken}" if res.first_broken is not None else "(no entry can be trusted)"
    click.echo(f"aquila: audit log broken {where}: {res.reason}", err=True)
    sys.exit(1)


@audit.command("checkpoint")
@_data_option
@handle_errors
def audit_checkpoint(data_dir: str) -> None:
    """Sign the log's current head and print it (JSON): give it to a provider to hold."""
    from aquila.instance import Instance

    log = Instance.audit_of(data_dir)
    click.echo(json.dumps(log.checkpoint().as_dict()))
    log.close()


@audit.command("list")
@_data_option
@click.option("--originator", default=None, help="only entries about this nation's objects")
@click.option("--after", default=0, show_default=True, type=click.IntRange(0, 2**62))
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@handle_errors
def audit_list(data_dir: str, originator: str | None, after: int, limit: int) -> None:
    """Print entries as JSON lines (the operator's view of the whole log)."""
    from aquila.instance import Instance

    log = Instance.audit_of(data_dir)
    while limit > 0:  # the whole log, page by page (the operator's view: no viewer filter)
        entries, nxt = log.entries_page(originator=originator, after=after, limit=min(limit, 1000))
        for e in entries:
            click.echo(json.dumps(e.as_dict()))
        limit -= len(entries)
        if nxt is None:
            break
        after = nxt
    log.close()


@click.group()
def pipelines() -> None:
    """The analytics pipelines of pipeline collections ("aquila:pipelines": ["ships"])."""


@pipelines.command("work")
@_data_option
@click.option("--read-root", "read_roots", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="ROOT whose ROOT/<NATION>/ files that nation's items may name by file: href (repeatable)")
@click.option("--land-mask", default="auto", show_default=True, help="FILE (raster, 1 = land), auto or none")
@click.option("--once", is_flag=True, help="drain the outbox and the queue, then exit")
@click.option("--exit-with-parent", is_flag=True, help="die with the process that started this one (as serve does)")
@handle_errors
def pipelines_work(data_dir: str, read_roots: tuple[str, ...], land_mask: str, once: bool,
                   exit_with_parent: bool) -> None:
    """Consume the catalog's outbox and run the pipelines (what `aquila serve` starts); AIS is read from
    DATA/ais/. Stops on SIGTERM after the run in progress."""
    import signal
    import threading

    from aquila.analytics.batch import tune_for_batch
    from aquila.analytics.pipeline import PipelineWorker
    from aquila.instance import Instance

    tune_for_batch()
    if exit_with_parent:
        _die_with_parent()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    inst = Instance.open(data_dir)
    worker = PipelineWorker(inst, [Path(r) for r in read_roots], land_mask)
    try:
        n = worker.work(stop, once=once)
    finally:
        worker.close()
        inst.close()
    if once:
        err.print(f"{n} pipeline runs", highlight=False)


def _die_with_parent() -> None:
    """The kernel kills this process when its parent dies (Linux prctl PR_SET_PDEATHSIG): a server killed
    mid-scene leaves no orphan worker behind; its run is recovered by the next server's worker."""
    import ctypes
    import os
    import signal

    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the prctl took
        os._exit(1)
