"""Step Functions on one machine: the template's state machines run in moto's engine, and their
Lambda tasks run the real handlers in this process.

moto's engine (``execute_state_machine``) calls Lambda through moto's own Lambda service, which
would start a Docker container per invocation. ``InProcessLambda`` replaces that one step: a
function whose ``POWERTOOLS_SERVICE_NAME`` names a package under ``functions/`` runs that
package's ``lambda_handler`` here, with the payload as its event, and answers as Lambda does:
the result as JSON, or ``FunctionError: Unhandled`` with the Python runtime's error payload
(``errorType``, ``errorMessage``, ``stackTrace``), so a definition's ``Retry`` and ``Catch`` on
error names behave as they do in AWS. It also names an execution started without a name with a
UUID, as AWS does (moto's engine would name every such execution ``None``, so the second one
would be refused as a duplicate). Everything else (the definition, its paths, choices, retries,
waits, maps, the execution history) is moto's engine, unchanged.

moto's EventBridge delivers to queues, log groups and buses but not to state machines or
functions. ``RuleDelivery`` adds those two, as EventBridge does: a matching event starts an
execution of the target state machine (with a generated name), or invokes the target function
asynchronously, with the target's ``Input``, ``InputPath`` or ``InputTransformer`` applied, else
the whole event. A delivery that fails is logged; EventBridge's retries and dead-letter queue
are not modelled.
"""

from __future__ import annotations

import copy
import datetime
import importlib
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any
from unittest import mock

Handler = Callable[[Any, Any], Any]


def package_handler(service: str) -> Handler:
    """``functions/<service>/handler.py``'s ``lambda_handler``: what the function runs in AWS."""
    module = importlib.import_module(f"functions.{service}.handler")
    handler: Handler = module.lambda_handler
    return handler


class InvocationContext:
    """The Lambda context object a handler gets (what Powertools reads of it), its remaining time
    counting down from the function's timeout. (The timeout itself is not enforced locally.)"""

    def __init__(self, function_name: str, function_arn: str, timeout_s: int, memory_mb: int = 128) -> None:
        self.function_name = function_name
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_payload(err: BaseException, request_id: str) -> dict[str, Any]:
    """What the Python runtime answers for an exception the handler did not catch."""
    return {
        "errorMessage": str(err),
        "errorType": type(err).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(err.__traceback__),
    }


class InProcessLambda:
    """While started, moto's Lambda ``Invoke`` runs the function's handler in this process."""

    def __init__(
        self,
        handler_for: Callable[[str], Handler] = package_handler,
        log: Callable[[str], None] = print,
    ) -> None:
        self._handler_for = handler_for
        self._log = log
        self._patches: list[Any] = []
        self._lock = threading.Lock()
        self.invocations: dict[str, int] = {}

    def start(self) -> None:
        from moto.awslambda.models import LambdaFunction
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        dispatcher = self
        start_execution = StepFunctionsParserBackend.start_execution

        def invoke(fn: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
            return dispatcher.invoke(fn, body, request_headers, response_headers)

        def start_named(backend: Any, state_machine_arn: str, name: str | None = None, *args: Any) -> Any:
            return start_execution(backend, state_machine_arn, name or str(uuid.uuid4()), *args)

        self._patches = [
            mock.patch.object(LambdaFunction, "invoke", invoke),
            mock.patch.object(StepFunctionsParserBackend, "start_execution", start_named),
        ]
        for patch in self._patches:
            patch.start()

    def stop(self) -> None:
        while self._patches:
            self._patches.pop().stop()

    def invoke(self, fn: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
        service = (fn.environment_vars or {}).get("POWERTOOLS_SERVICE_NAME", "")
        context = InvocationContext(
            fn.function_name, fn.function_arn, int(fn.timeout or 3), int(fn.memory_size or 128)
        )
        try:
            handler = self._handler_for(service)
        except (ImportError, KeyError) as err:  # what Lambda answers when the handler is missing
            self._log(f"lambda      {fn.function_name}: no handler for service {service!r} ({err})")
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = error_payload(err, context.aws_request_id)
            payload["errorType"] = "Runtime.ImportModuleError"
            return json.dumps(payload).encode()
        invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type == "DryRun":  # Lambda checks the call and runs nothing
            return b""
        event = json.loads(body) if body else {}
        if invocation_type == "Event":
            # Asynchronous, as Lambda runs it: the caller is answered at once.
            threading.Thread(target=self._run, args=(service, handler, event, context), daemon=True).start()
            return b""
        failed, answer = self._run(service, handler, event, context)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(answer, default=str).encode()

    def _run(
        self, service: str, handler: Handler, event: Any, context: InvocationContext
    ) -> tuple[bool, Any]:
        """(failed, the result or the runtime's error payload); one log line either way."""
        with self._lock:
            self.invocations[service] = self.invocations.get(service, 0) + 1
        started = time.perf_counter()
        try:
            result = handler(event, context)
        except Exception as err:  # Lambda reports it to the caller; so do we, and say it here
            self._log(f"lambda      {service} failed: {type(err).__name__}: {err}")
            return True, error_payload(err, context.aws_request_id)
        self._log(f"lambda      {service} {(time.perf_counter() - started) * 1000:.0f} ms")
        return False, result


def enable_execution(endpoint: str, port: int) -> None:
    """Make the moto server at ``endpoint`` execute state machines (its engine calls Lambda back
    through ``MOTO_PORT``)."""
    import os
    import urllib.request

    os.environ["MOTO_PORT"] = str(port)
    body = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
    request = urllib.request.Request(  # noqa: S310 - our own local moto server
        f"{endpoint}/moto-api/config", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


class RuleDelivery:
    """While started, moto's EventBridge rules deliver to state machine and Lambda targets."""

    def __init__(self, dispatcher: InProcessLambda, log: Callable[[str], None] = print) -> None:
        self._dispatcher = dispatcher
        self._log = log
        self._patches: list[Any] = []

    def start(self) -> None:
        from moto.events.models import Rule

        delivery = self
        send_to_targets = Rule.send_to_targets

        def send(rule: Any, original_event: Any, transform_input: bool = True) -> None:
            ours = [t for t in rule.targets if _service(t["Arn"]) in ("states", "lambda")]
            if len(ours) < len(rule.targets):  # moto's own targets, as moto delivers them
                theirs = copy.copy(rule)
                theirs.targets = [t for t in rule.targets if t not in ours]
                send_to_targets(theirs, original_event, transform_input)
            if ours and rule.state == "ENABLED" and rule.event_pattern.matches_event(original_event):
                for target in ours:
                    delivery.deliver(target, original_event)

        self._patches = [mock.patch.object(Rule, "send_to_targets", send)]
        for patch in self._patches:
            patch.start()

    def stop(self) -> None:
        while self._patches:
            self._patches.pop().stop()

    def deliver(self, target: dict[str, Any], moto_event: dict[str, Any]) -> None:
        arn = target["Arn"]
        try:
            payload = target_input(target, aws_event(moto_event))
            if _service(arn) == "states":
                self._start_execution(arn, payload)
            else:
                self._invoke(arn, payload)
        except Exception as err:  # EventBridge would retry, then dead-letter; here it is said once
            self._log(f"events      delivery to {arn} failed: {type(err).__name__}: {err}")
            return
        self._log(f"events      {moto_event.get('detail-type')} -> {arn.rsplit(':', 1)[-1]}")

    @staticmethod
    def _start_execution(arn: str, payload: Any) -> None:
        from moto.stepfunctions.responses import get_backend

        parts = arn.split(":")
        get_backend(parts[4], parts[3]).start_execution(arn, None, json.dumps(payload))

    def _invoke(self, arn: str, payload: Any) -> None:
        from moto.awslambda.utils import get_backend

        parts = arn.split(":")
        fn = get_backend(parts[4], parts[3]).get_function(parts[6], parts[7] if len(parts) > 7 else None)
        self._dispatcher.invoke(fn, json.dumps(payload), {"x-amz-invocation-type": "Event"}, {})


def _service(arn: str) -> str:
    return arn.split(":")[2]


def aws_event(moto_event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to a target (moto keeps its own ``ingestion-time`` and
    may hold ``time`` as seconds)."""
    event = {k: v for k, v in moto_event.items() if k != "ingestion-time"}
    when = event.get("time")
    if isinstance(when, (int, float)):
        when = datetime.datetime.fromtimestamp(when, tz=datetime.UTC)
    if isinstance(when, datetime.datetime):
        event["time"] = when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What EventBridge passes to a target: ``Input`` (constant JSON), ``InputPath`` (a part of the
    event), ``InputTransformer`` (a template filled from the event), else the whole event."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    if "InputTransformer" in target:
        from jsonpath_ng import parse

        transformer = target["InputTransformer"]
        values = {}
        for name, path in transformer.get("InputPathsMap", {}).items():
            matches = parse(path).find(event)
            values[name] = matches[0].value if matches else None
        values.setdefault("aws.events.event.json", event)
        return json.loads(fill_template(transformer["InputTemplate"], values))
    return event


def fill_template(template: str, values: dict[str, Any]) -> str:
    """An input template with its ``<name>`` placeholders filled as EventBridge fills them: inside
    a JSON string, the value's text; elsewhere, the value as JSON."""
    out: list[str] = []
    in_string = escaped = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "<":
            end = template.find(">", i)
            name = template[i + 1 : end] if end > i else ""
            if name in values:
                value = values[name]
                if in_string:
                    out.append(json.dumps(value if isinstance(value, str) else json.dumps(value))[1:-1])
                else:
                    out.append(json.dumps(value))
                i = end + 1
                continue
        if in_string and char == "\\" and not escaped:
            escaped = True
        else:
            if char == '"' and not escaped:
                in_string = not in_string
            escaped = False
        out.append(char)
        i += 1
    return "".join(out)
