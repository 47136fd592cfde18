"""Google's official Python Cloud Tasks client against the emulator.

Starts the emulator binary on a free port, points an unmodified
``tasks_v2.CloudTasksClient`` (REST transport, anonymous credentials) at it,
and checks task create/get/list/delete, ALREADY_EXISTS and NOT_FOUND,
queue get/list/pause/resume/purge, and that a created task is pushed to its
URL with Cloud Tasks' headers and an ID token.

Usage: test_official_client.py --emulator PATH/TO/tasklane-emulator
"""

import argparse
import http.server
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import tasks_v2

EMULATOR_BIN = None
PROJECT = "local"
LOCATION = "us-central1"
QUEUES = ["py-crud", "py-dup", "py-admin", "py-push"]
READY_TIMEOUT_S = 30
DELIVERY_TIMEOUT_S = 20


def function_spec(queue_id):
    """A FunctionSpec as `<function> spec` prints it."""
    return {
        "name": queue_id,
        "queue": queue_id,
        "rate_limits": {"max_dispatches_per_second": 100.0, "max_concurrent_dispatches": 10},
        "retry": {
            "max_attempts": 3,
            "min_backoff_seconds": 1.0,
            "max_backoff_seconds": 10.0,
            "max_doublings": 2,
            "max_retry_duration_seconds": 0,
        },
        "dispatch_deadline_seconds": 600,
        "lease_margin_seconds": 30,
        "request_concurrency": 10,
        "scaling": {"min_instances": 0, "max_instances": 1, "cpu": "1", "memory": "512Mi"},
        "job": {"task_count": 1, "parallelism": 1, "max_retries": 0, "timeout_seconds": 60},
        "dead_letter_topic": f"{queue_id}-dead-letters",
        "dead_letter_subscription": f"{queue_id}-dead-letters-sub",
    }


class Sink(http.server.ThreadingHTTPServer):
    """A push target that hands every request to the test through a queue."""

    def __init__(self):
        self.received = queue.Queue()
        super().__init__(("127.0.0.1", 0), SinkHandler)

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class SinkHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.received.put((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class OfficialPythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec_dir = tempfile.TemporaryDirectory()
        spec_path = os.path.join(cls.spec_dir.name, "specs.json")
        with open(spec_path, "w", encoding="utf-8") as f:
            json.dump([function_spec(q) for q in QUEUES], f)
        cls.emulator = subprocess.Popen(
            [EMULATOR_BIN, "--addr", "127.0.0.1:0", "--project", PROJECT,
             "--location", LOCATION, "--spec", spec_path],
            stdout=subprocess.PIPE,
            text=True,
            # Keep the per-dispatch log lines out of the test report.
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        cls.base_url = read_ready_line(cls.emulator)
        cls.client = tasks_v2.CloudTasksClient(
            credentials=AnonymousCredentials(),
            transport="rest",
            client_options=ClientOptions(api_endpoint=cls.base_url),
        )
        cls.sink = Sink()
        threading.Thread(target=cls.sink.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.sink.shutdown()
        cls.emulator.send_signal(signal.SIGTERM)
        cls.emulator.wait(timeout=10)
        cls.spec_dir.cleanup()

    def queue_path(self, queue_id):
        return self.client.queue_path(PROJECT, LOCATION, queue_id)

    def http_task(self, url, name=None):
        task = tasks_v2.Task(
            http_request=tasks_v2.HttpRequest(
                url=url,
                http_method=tasks_v2.HttpMethod.POST,
                headers={"Content-Type": "application/json"},
                body=b'{"meeting_id":"m1"}',
            )
        )
        if name:
            task.name = name
        return task

    def test_create_get_list_and_delete_a_task(self):
        parent = self.queue_path("py-crud")
        self.client.pause_queue(name=parent)
        name = f"{parent}/tasks/meeting-m1"

        created = self.client.create_task(
            request={
                "parent": parent,
                "task": self.http_task("http://127.0.0.1:9/t", name),
                "response_view": tasks_v2.Task.View.FULL,
            }
        )
        self.assertEqual(created.name, name)
        self.assertEqual(created.http_request.body, b'{"meeting_id":"m1"}')
        self.assertEqual(created.dispatch_deadline.total_seconds(), 600)

        fetched = self.client.get_task(name=name)
        self.assertEqual(fetched.name, name)
        self.assertEqual(fetched.view, tasks_v2.Task.View.BASIC)

        listed = [t.name for t in self.client.list_tasks(parent=parent)]
        self.assertEqual(listed, [name])

        self.client.delete_task(name=name)
        self.assertEqual(list(self.client.list_tasks(parent=parent)), [])

    def test_reused_name_is_already_exists_and_deleted_task_not_found(self):
        parent = self.queue_path("py-dup")
        self.client.pause_queue(name=parent)
        name = f"{parent}/tasks/dup"
        self.client.create_task(parent=parent, task=self.http_task("http://127.0.0.1:9/", name))

        # Over REST the client maps HTTP 409 to Conflict, as it does with
        # Google; the status in the body says which conflict it was.
        with self.assertRaises(exceptions.Conflict) as raised:
            self.client.create_task(parent=parent, task=self.http_task("http://127.0.0.1:9/", name))
        self.assertEqual(raised.exception.response.json()["error"]["status"], "ALREADY_EXISTS")
        self.client.delete_task(name=name)
        with self.assertRaises(exceptions.NotFound):
            self.client.get_task(name=name)

    def test_queues_are_listed_paused_resumed_and_purged(self):
        parent = f"projects/{PROJECT}/locations/{LOCATION}"
        name = self.queue_path("py-admin")

        names = [q.name for q in self.client.list_queues(parent=parent)]
        self.assertEqual(names, sorted(self.queue_path(q) for q in QUEUES))
        fetched = self.client.get_queue(name=name)
        self.assertEqual(fetched.rate_limits.max_concurrent_dispatches, 10)
        self.assertEqual(fetched.retry_config.max_attempts, 3)

        paused = self.client.pause_queue(name=name)
        self.assertEqual(paused.state, tasks_v2.Queue.State.PAUSED)
        self.client.create_task(parent=name, task=self.http_task("http://127.0.0.1:9/"))
        purged = self.client.purge_queue(name=name)
        self.assertIsNotNone(purged.purge_time)
        self.assertEqual(list(self.client.list_tasks(parent=name)), [])
        resumed = self.client.resume_queue(name=name)
        self.assertEqual(resumed.state, tasks_v2.Queue.State.RUNNING)

    def test_created_task_is_pushed_with_cloud_tasks_headers(self):
        parent = self.queue_path("py-push")
        task = self.http_task(self.sink.url("/tasks/summarize"), f"{parent}/tasks/pushed")
        task.http_request.oidc_token = tasks_v2.OidcToken(
            service_account_email="invoker@local.iam.gserviceaccount.com"
        )

        self.client.create_task(parent=parent, task=task)
        path, headers, body = self.sink.received.get(timeout=DELIVERY_TIMEOUT_S)

        headers = {k.lower(): v for k, v in headers.items()}
        self.assertEqual(path, "/tasks/summarize")
        self.assertEqual(body, b'{"meeting_id":"m1"}')
        self.assertEqual(headers["x-cloudtasks-queuename"], "py-push")
        self.assertEqual(headers["x-cloudtasks-taskname"], "pushed")
        self.assertEqual(headers["x-cloudtasks-taskretrycount"], "0")
        self.assertEqual(headers["user-agent"], "Google-Cloud-Tasks")
        self.assertTrue(headers["authorization"].startswith("Bearer ey"))


def read_ready_line(process):
    """Waits for `listening on URL` and returns URL."""
    result = {}

    def read():
        result["line"] = process.stdout.readline()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_S)
    line = result.get("line", "")
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"emulator did not report readiness: {line!r}")
    return line.strip().removeprefix("listening on ")


def main():
    global EMULATOR_BIN
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", required=True, help="path to the tasklane-emulator binary")
    args, rest = parser.parse_known_args()
    EMULATOR_BIN = args.emulator
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
