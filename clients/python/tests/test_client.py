"""The Python client against a real server: `interarec serve` started on a free loopback port,
the pipeline's tools registered from their components, the demo fashion shop's catalog imported
and its model fitted through the client, then a recorded session streamed into a recommending
session, its events watched as dicts until the recommendation, and an assortment optimized.

Run by `just test-python`, which builds the client in a venv and sets INTERAREC_BIN,
INTERAREC_PLUGIN_DIR and INTERAREC_FIXTURES.
"""

import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import unittest

import interarec

BIN = pathlib.Path(os.environ["INTERAREC_BIN"])
PLUGINS = pathlib.Path(os.environ["INTERAREC_PLUGIN_DIR"])
FIXTURES = pathlib.Path(os.environ["INTERAREC_FIXTURES"])
RECORDING = "market-fashion-red-dresses-50-100"
TOOLS = {
    "capture": ["frames", "kv"],
    "summarize": ["models"],
    "validate": ["catalog"],
    "assortment": ["catalog"],
}


class RecommendingSessionFromPython(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        root = pathlib.Path(cls.dir.name)
        subprocess.run(
            [BIN, "demo-shop", "--export", root / "shop", "--shop", "fashion"],
            check=True,
            capture_output=True,
        )
        # With an admin token, a caller with neither it nor a session's credential is refused.
        token = cls.token = "python-client-test-admin-token"
        env = dict(os.environ, INTERAREC_LOG="warn", INTERAREC_ADMIN_TOKEN=token)
        cls.server = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", root / "data", "--ocr", "tesseract"],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = cls.server.stderr.readline()
        address = next((word for word in line.split() if word.startswith("http://")), None)
        if address is None:
            cls.server.kill()
            raise RuntimeError(f"no address in the server's first line: {line!r}")
        # Keep draining the log so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in cls.server.stderr], daemon=True).start()
        cls.client = interarec.Client(address.removeprefix("http://"), token=token)
        for tool, grants in TOOLS.items():
            cls.client.register_tool(PLUGINS / f"{tool}.wasm", grants)
        cls.catalog = cls.client.import_catalog(root / "shop" / "fashion.csv", "fashion", strict=True)
        cls.progress = []
        cls.model = cls.client.fit_choice_model(
            root / "shop" / "fashion-transactions.csv",
            "fashion-mnl",
            catalog_id="fashion",
            on_progress=cls.progress.append,
        )

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.kill()
        cls.server.wait()
        cls.dir.cleanup()

    def test_a_recorded_session_is_recommended_and_optimized(self):
        self.assertEqual(self.catalog["catalog"]["catalog_id"], "fashion")
        self.assertEqual(self.model["model_id"], "fashion-mnl")
        self.assertTrue(self.progress, "the fit reported no progress")
        self.assertEqual(sorted(tool["name"] for tool in self.client.list_tools()), sorted(TOOLS))
        # The catalog's items, read in pages smaller than the catalog.
        items = list(self.client.catalog_items("fashion", page_size=50))
        self.assertEqual(len(items), int(self.catalog["catalog"]["item_count"]))
        self.assertEqual(len({item["id"] for item in items}), len(items))
        self.assertIn("colour", items[0]["attributes"], items[0])

        session = self.client.create_recommending_session("fashion", "fashion-mnl", batch_size=16)
        self.assertTrue(session.credential.startswith("isc-"), session)
        manifest_frames = len(list((FIXTURES / RECORDING / "frames").iterdir()))
        results = self.client.stream_folder(session.id, FIXTURES / RECORDING)
        self.assertEqual(len(results), manifest_frames)
        self.assertTrue(all(result.get("accepted") for result in results), results)
        self.client.end_session(session.id)

        events = list(self.client.watch(session.id))
        kinds = [event["kind"] for event in events]
        self.assertEqual(kinds[-1], "session-ended", kinds)
        self.assertEqual([event["sequence"] for event in events], list(range(1, len(events) + 1)))
        # A watch resumed after the third event replays from the fourth.
        resumed = [event["sequence"] for event in self.client.watch(session.id, resume_token=events[2]["resume_token"])]
        self.assertEqual(resumed, list(range(4, len(events) + 1)))
        recommendations = [event["payload"] for event in events if event["kind"] == "recommendation"]
        self.assertTrue(recommendations, kinds)
        last = recommendations[-1]
        self.assertTrue(last["items"], last)
        self.assertIsInstance(last["batch"], int)
        # The shopper browsed red dresses between $50 and $100; the session's constraints say so.
        self.assertEqual(last["constraints"].get("colour"), ["red"], last["constraints"])

        constraints = {key: last["constraints"][key] for key in ("lowest_price", "highest_price") if key in last["constraints"]}
        assortment = self.client.optimize("fashion", "fashion-mnl", {**constraints, "capacity": 4})
        self.assertTrue(0 < len(assortment["items"]) <= 4, assortment)
        self.assertTrue(assortment["certificate"]["holds"], assortment)
        for item in assortment["items"]:
            self.assertLessEqual(item["price"], constraints.get("highest_price", float("inf")))

    def test_the_example_script_runs_a_session_to_its_assortment(self):
        example = pathlib.Path(__file__).resolve().parent.parent / "examples" / "recommend.py"
        run = subprocess.run(
            [sys.executable, example, FIXTURES / RECORDING, "--server", self.client.target,
             "--catalog", "fashion", "--model", "fashion-mnl"],
            capture_output=True,
            text=True,
            env=dict(os.environ, INTERAREC_ADMIN_TOKEN=self.token),
        )
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("frames accepted", run.stdout)
        self.assertIn("expected revenue", run.stdout, run.stdout)

    def test_refusals_arrive_as_errors_with_the_servers_sentence(self):
        # (call, gRPC code, words of the server's sentence)
        cases = [
            (lambda: self.client.invoke_tool("nope", {}), "NOT_FOUND", "nope"),
            (lambda: self.client.optimize("fashion", "no-such-model"), "NOT_FOUND", "no-such-model"),
            (lambda: self.client.optimize("fashion", "fashion-mnl", {"capacity": 0}), "INVALID_ARGUMENT", "capacity"),
        ]
        session = self.client.create_recommending_session("fashion", "fashion-mnl")
        stranger = interarec.Client(self.client.target)
        cases.append((lambda: stranger.get_session(session.id), "UNAUTHENTICATED", "credential"))
        for index, (call, code, words) in enumerate(cases):
            with self.assertRaises(interarec.InteraRecError, msg=f"case {index}") as refused:
                call()
            self.assertEqual(refused.exception.code, code, refused.exception)
            self.assertIn(words, refused.exception.message)
        stranger.close()


if __name__ == "__main__":
    unittest.main()
