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
