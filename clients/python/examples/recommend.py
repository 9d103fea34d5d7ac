"""A recommending session from Python: a recorded browsing session streamed into a server, its
events watched, and the last recommendation and an assortment printed.

    python examples/recommend.py --server 127.0.0.1:50051 --catalog fashion --model fashion-mnl \
        ../../fixtures/sessions/market-fashion-red-dresses-50-100

The server needs the catalog, the fitted model and the capture, summarize, validate and
assortment tools (``just demo`` sets all of them up on a throw-away server; the README's
"Sessions and capture" shows the commands). The admin token or an API key comes from
INTERAREC_ADMIN_TOKEN or INTERAREC_API_KEY when the server wants one.
"""

import argparse
import os
import pathlib

import interarec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=pathlib.Path, help="a recorded session folder (manifest.json and frames)")
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch-size", type=int, default=16)
    arguments = parser.parse_args()
    token = os.environ.get("INTERAREC_ADMIN_TOKEN") or os.environ.get("INTERAREC_API_KEY")
    with interarec.Client(arguments.server, token=token) as client:
        session = client.create_recommending_session(arguments.catalog, arguments.model, batch_size=arguments.batch_size)
        print(f"session {session.id}")
        results = client.stream_folder(session.id, arguments.folder)
        accepted = sum(1 for result in results if result.get("accepted"))
        print(f"{accepted} of {len(results)} frames accepted")
        client.end_session(session.id)
        recommendation = None
        for event in client.watch(session.id):
            if event["kind"] == "recommendation":
                recommendation = event["payload"]
                titles = ", ".join(item["title"] for item in recommendation["items"])
                print(f"batch {recommendation.get('batch')}: {titles}")
        if recommendation is None:
            print("no recommendation: see the session's events (interarec session show)")
            return
        # The session's price range, as the optimizer's constraints, for four products.
        used = recommendation.get("constraints") or {}
        constraints = {key: used[key] for key in ("lowest_price", "highest_price") if key in used}
        assortment = client.optimize(arguments.catalog, arguments.model, {**constraints, "capacity": 4})
        print(f"expected revenue {assortment.get('expected_revenue', 0):.2f} with {len(assortment.get('items', []))} items")


if __name__ == "__main__":
    main()
