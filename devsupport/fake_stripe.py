"""Runs localstripe (a fake Stripe server) on the loopback interface only.

localstripe's own command listens on every interface; a fake payment server has no business
being reachable from the network, so this starts its aiohttp app bound to 127.0.0.1.
Usage: python -m devsupport.fake_stripe [--port 8420]
"""
import argparse
import logging


def main() -> None:
    """Start the fake Stripe server in the foreground."""
    from aiohttp import web
    # Importing the app does not load localstripe's pickle from /tmp, so each run starts empty.
    from localstripe.server import app

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
