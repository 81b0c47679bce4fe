"""Commands: `flask seed-demo`, `flask ensure-admin`, `flask worker`."""
import click
from flask import current_app


def register(app) -> None:
    """Attach the commands to the app."""

    @app.cli.command("ensure-admin")
    def ensure_admin():
        """Create the admin named by MARKETPLACE_ADMIN_EMAIL / _PASSWORD if missing."""
        from .wiring import accounts
        user = accounts().ensure_admin(current_app.config["ADMIN_EMAIL"], current_app.config["ADMIN_PASSWORD"])
        click.echo(f"admin: {user.email}")

    @app.cli.command("seed-demo")
    def seed_demo():
        """Seed demo users, released handles and lots (once; a second run adds nothing)."""
        from .demo import seed
        click.echo(seed())

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Run one pass and exit.")
    def worker(once: bool):
        """Run the worker loop (closing due lots) in this process."""
        from .worker import Worker
        w = Worker(current_app._get_current_object())
        if once:
            click.echo(f"closed {w.run_once()} lots")
        else:
            w.run_forever()

    @app.cli.command("sweep")
    @click.option("--batch", type=int, default=None, help="Account ids per transaction (default SWEEP_BATCH_SIZE).")
    @click.option("--max-batches", type=int, default=None, help="Stop after this many batches (resume later).")
    def sweep(batch: int | None, max_batches: int | None):
        """Run the release sweep to the end (resuming a stopped one), with a progress bar."""
        from dataclasses import replace

        from .wiring import release
        service = release()
        if batch:
            service.policy = replace(service.policy, batch_size=batch)
        run = service.start_or_resume()
        with click.progressbar(length=max(run.total, 1), label=f"sweep #{run.id}", show_pos=True) as bar:
            bar.update(run.processed)
            seen = [run.processed]

            def advance(current):
                bar.update(current.processed - seen[0])
                seen[0] = current.processed

            run = service.run(max_batches=max_batches, on_batch=advance)
        state = "finished" if run.finished_at else "stopped (run `flask sweep` again to resume)"
        click.echo(f"sweep #{run.id} {state}: {run.processed}/{run.total} ids; flagged {run.flagged}, "
                   f"reminded {run.reminded}, kept {run.kept}, released {run.released}, "
                   f"held back {run.held_back}, notices {run.notices}")

    @app.cli.command("seed-accounts")
    @click.option("--accounts", "count", type=int, default=1_000_000, show_default=True)
    def seed_accounts_command(count: int):
        """Add a realistic population of platform accounts (last activity spread, bots, protected)."""
        from .extensions import db
        from .population import seed_accounts
        from .wiring import clock, release
        release().seed_protected_names()
        with click.progressbar(length=count, label="seeding accounts", show_pos=True) as bar:
            seed_accounts(db.session, clock().now(), count, on_chunk=bar.update)
        click.echo(f"added {count} accounts")
