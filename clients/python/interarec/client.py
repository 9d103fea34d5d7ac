"""A thin typed wrapper over the generated stubs: the calls a service makes most, with answers as
plain dicts (protobuf field names kept) and gRPC errors as :class:`InteraRecError`.

Credentials: the admin token or an API key goes with every call as ``authorization: Bearer``;
the credential ``CreateSession`` answers with is kept per session and sent as
``session-credential`` on every later call on that session.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import grpc
from google.protobuf import json_format, timestamp_pb2

from interarec.v1 import catalogs_pb2, catalogs_pb2_grpc
from interarec.v1 import choice_models_pb2, choice_models_pb2_grpc
from interarec.v1 import sessions_pb2, sessions_pb2_grpc
from interarec.v1 import tools_pb2, tools_pb2_grpc

#: Largest message either side sends (a choice model with its parameters can be tens of MiB).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: Bytes per chunk of an upload (catalogs, transaction logs).
CHUNK_BYTES = 1024 * 1024

_CATALOG_FORMATS = {"csv": catalogs_pb2.CATALOG_FORMAT_CSV, "jsonl": catalogs_pb2.CATALOG_FORMAT_JSONL}
_TRANSACTION_FORMATS = {
    "transactions-csv": choice_models_pb2.TRANSACTION_FORMAT_TRANSACTIONS_CSV,
    "ta-feng": choice_models_pb2.TRANSACTION_FORMAT_TA_FENG,
}


#: Event kinds by wire value, named as the server's events are (``tool-call``, ``session-ended``).
_EVENT_KINDS = {
    value: name.removeprefix("EVENT_KIND_").lower().replace("_", "-")
    for name, value in sessions_pb2.EventKind.items()
    if value != 0
}


class InteraRecError(Exception):
    """A call the server refused or could not answer: the gRPC status code's name and the
    server's sentence, which says what was wrong and what to do."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _to_dict(message) -> Dict[str, Any]:
    """A message as a dict: protobuf field names, enums by name, timestamps as RFC 3339 text."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _whole_numbers(value: Any) -> Any:
    """A Struct's numbers are all doubles on the wire: whole ones read back as ints."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def _pages(method, request_type, field: str, metadata, timeout) -> List[Dict[str, Any]]:
    """Every entry of a List RPC, following its page tokens."""
    entries, token = [], ""
    while True:
        page = method(request_type(page_size=1000, page_token=token), metadata=metadata, timeout=timeout)
        entries.extend(_to_dict(entry) for entry in getattr(page, field))
        token = page.next_page_token
        if not token:
            return entries


@dataclass
class Session:
    """A session this client created: its id, its credential (shown once by the server; keep it
    like a password) and what the server said of it."""

    id: str
    credential: str
    info: Dict[str, Any] = field(default_factory=dict)


class Client:
    """A connection to an InteraRec server.

    ``target`` is ``host:port``; ``token`` the admin token or an API key (optional on a
    loopback server without API keys); ``root_certificates`` the PEM of the CA of a TLS server.
    """

    def __init__(
        self,
        target: str = "127.0.0.1:50051",
        *,
        token: Optional[str] = None,
        root_certificates: Optional[bytes] = None,
        timeout: float = 120.0,
    ):
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
        if root_certificates is None:
            self._channel = grpc.insecure_channel(target, options=options)
        else:
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self._channel = grpc.secure_channel(target, credentials, options=options)
        self.target = target
        self._token = token
        self._timeout = timeout
        self._credentials: Dict[str, str] = {}
        self.tools = tools_pb2_grpc.ToolServiceStub(self._channel)
        self.catalogs = catalogs_pb2_grpc.CatalogServiceStub(self._channel)
        self.models = choice_models_pb2_grpc.ChoiceModelServiceStub(self._channel)
        self.sessions = sessions_pb2_grpc.SessionServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Metadata and errors -------------------------------------------------------------------

    def _metadata(self, session_id: str = "") -> List[tuple]:
        metadata = []
        if self._token:
            metadata.append(("authorization", f"Bearer {self._token}"))
        credential = self._credentials.get(session_id)
        if credential:
            metadata.append(("session-credential", credential))
        return metadata

    def _call(self, method, request, session_id: str = "", timeout: Optional[float] = None):
        try:
            return method(request, metadata=self._metadata(session_id), timeout=timeout or self._timeout)
        except grpc.RpcError as error:
            raise InteraRecError(error.code().name, error.details() or "") from None

    def remember_session_credential(self, session_id: str, credential: str) -> None:
        """Uses ``credential`` on every later call on ``session_id`` (one another process made)."""
        self._credentials[session_id] = credential

    # Tools ---------------------------------------------------------------------------------

    def register_tool(self, component: pathlib.Path, grants: Sequence[str] = (), replace: bool = False) -> Dict[str, Any]:
        """Registers a component file; ``grants`` as on the command line (``kv``, ``catalog``,
        ``http:api.example.com``)."""
        wire = []
        for grant in grants:
            capability, _, hosts = grant.partition(":")
            wire.append(
                tools_pb2.Grant(
                    capability=tools_pb2.Capability.Value(f"CAPABILITY_{capability.upper()}"),
                    hosts=[h for h in hosts.split(",") if h],
                )
            )
        request = tools_pb2.RegisterToolRequest(
            component=pathlib.Path(component).read_bytes(), grants=wire, replace=replace
        )
        return _to_dict(self._call(self.tools.RegisterTool, request))

    def list_tools(self) -> List[Dict[str, Any]]:
        """Every registered tool (all pages)."""
        try:
            return _pages(self.tools.ListTools, tools_pb2.ListToolsRequest, "tools", self._metadata(), self._timeout)
        except grpc.RpcError as error:
            raise InteraRecError(error.code().name, error.details() or "") from None

    def invoke_tool(self, name: str, arguments: Dict[str, Any], session_id: str = "") -> Any:
        """Runs a tool; answers its JSON result."""
        request = tools_pb2.InvokeToolRequest(name=name, arguments_json=json.dumps(arguments), session_id=session_id)
        return json.loads(self._call(self.tools.InvokeTool, request, session_id).result_json)

    # Catalogs and choice models ----------------------------------------------------------------

    @staticmethod
    def _chunks(path: pathlib.Path) -> Iterator[bytes]:
        with open(path, "rb") as file:
            while True:
                chunk = file.read(CHUNK_BYTES)
                if not chunk:
                    return
                yield chunk

    def import_catalog(
        self,
        path: pathlib.Path,
        catalog_id: str,
        *,
        name: str = "",
        format: str = "csv",
        strict: bool = False,
        replace: bool = False,
    ) -> Dict[str, Any]:
        """Imports a CSV or JSON Lines file as catalog ``catalog_id``, sent in chunks."""
        if format not in _CATALOG_FORMATS:
            raise ValueError(f"format {format!r} is not one of {sorted(_CATALOG_FORMATS)}")
        path = pathlib.Path(path)
        header = catalogs_pb2.ImportHeader(
            catalog_id=catalog_id,
            name=name or catalog_id,
            format=_CATALOG_FORMATS[format],
            strict=strict,
            replace=replace,
            total_bytes=path.stat().st_size,
        )

        def requests():
            yield catalogs_pb2.ImportCatalogRequest(header=header)
            for chunk in self._chunks(path):
                yield catalogs_pb2.ImportCatalogRequest(chunk=chunk)

        return _to_dict(self._call(self.catalogs.ImportCatalog, requests()))

    def list_catalogs(self) -> List[Dict[str, Any]]:
        """Every catalog (all pages)."""
        try:
            return _pages(
                self.catalogs.ListCatalogs, catalogs_pb2.ListCatalogsRequest, "catalogs", self._metadata(), self._timeout
            )
        except grpc.RpcError as error:
            raise InteraRecError(error.code().name, error.details() or "") from None

    def catalog_items(self, catalog_id: str, page_size: int = 1000) -> Iterator[Dict[str, Any]]:
        """A catalog's items in catalog order, read a page at a time."""
        token = ""
        while True:
            request = catalogs_pb2.ListCatalogItemsRequest(catalog_id=catalog_id, page_size=page_size, page_token=token)
            page = self._call(self.catalogs.ListCatalogItems, request)
            for item in page.items:
                yield _to_dict(item)
            token = page.next_page_token
            if not token:
                return

    def fit_choice_model(
        self,
        path: pathlib.Path,
        model_id: str,
        *,
        catalog_id: str = "",
        format: str = "transactions-csv",
        segment_by: str = "",
        replace: bool = False,
        on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
    ) -> Dict[str, Any]:
        """Fits a multinomial-logit model from a transaction log; ``on_progress`` sees each
        progress event; answers the stored model."""
        if format not in _TRANSACTION_FORMATS:
            raise ValueError(f"format {format!r} is not one of {sorted(_TRANSACTION_FORMATS)}")
        header = choice_models_pb2.FitHeader(
            model_id=model_id,
            catalog_id=catalog_id,
            format=_TRANSACTION_FORMATS[format],
            segment_by=segment_by,
            replace=replace,
        )

        def requests():
            yield choice_models_pb2.FitChoiceModelRequest(header=header)
            for chunk in self._chunks(pathlib.Path(path)):
                yield choice_models_pb2.FitChoiceModelRequest(chunk=chunk)

        try:
            for event in self.models.FitChoiceModel(requests(), metadata=self._metadata(), timeout=None):
                if event.HasField("progress"):
                    if on_progress is not None:
                        on_progress(_to_dict(event.progress))
                elif event.HasField("model"):
                    return _to_dict(event.model)
        except grpc.RpcError as error:
            raise InteraRecError(error.code().name, error.details() or "") from None
        raise InteraRecError("UNKNOWN", "the fit ended without a model")

    def optimize(
        self, catalog_id: str, model_id: str, constraints: Optional[Dict[str, Any]] = None, segment: str = ""
    ) -> Dict[str, Any]:
        """The revenue-maximizing assortment under the model and the constraints (price range,
        ``filters``, ``capacity``, ``max_per_value``, ``must_include``, ``exclude``)."""
        request = choice_models_pb2.OptimizeRequest(
            catalog_id=catalog_id,
            model_id=model_id,
            segment=segment,
            constraints_json=json.dumps(constraints or {}),
        )
        return _to_dict(self._call(self.models.Optimize, request))

    # Sessions ----------------------------------------------------------------------------------

    def create_recommending_session(
        self,
        catalog_id: str,
        model_id: str,
        *,
        session_id: str = "",
        batch_size: int = 0,
        capacity: int = 0,
        planner: str = "",
        vision_provider: str = "",
        validate_tool: str = "",
    ) -> Session:
        """A session that recommends from ``catalog_id`` with ``model_id`` after every batch
        (needs the ``capture``, ``summarize``, ``validate`` and ``assortment`` tools registered).
        ``planner`` and ``vision_provider``: ``"offline"``, ``"openai"`` or ``""`` (the server's
        default)."""

        def choice(enum, prefix: str, name: str) -> int:
            return enum.Value(f"{prefix}_{name.upper()}") if name else 0

        request = sessions_pb2.CreateSessionRequest(
            session_id=session_id,
            catalog_id=catalog_id,
            choice_model_id=model_id,
            options=sessions_pb2.SessionOptions(batch_size=batch_size),
            capacity=capacity,
            planner=choice(sessions_pb2.Planner, "PLANNER", planner),
            vision_provider=choice(sessions_pb2.VisionProvider, "VISION_PROVIDER", vision_provider),
            validate_tool=validate_tool,
        )
        created = self._call(self.sessions.CreateSession, request)
        self._credentials[created.session.session_id] = created.credential
        return Session(id=created.session.session_id, credential=created.credential, info=_to_dict(created.session))

    def stream_folder(self, session_id: str, folder: pathlib.Path) -> List[Dict[str, Any]]:
        """Streams a recorded session folder (``manifest.json`` and its frames, as ``interarec
        capture`` writes it) into the session through Browse; answers each frame's result."""
        folder = pathlib.Path(folder)
        manifest = json.loads((folder / "manifest.json").read_text())

        def requests():
            yield sessions_pb2.BrowseRequest(open_session_id=session_id)
            for entry in manifest["frames"]:
                captured_at = timestamp_pb2.Timestamp()
                captured_at.FromMilliseconds(entry.get("captured_at_unix_ms", 0))
                yield sessions_pb2.BrowseRequest(
                    frame=sessions_pb2.Frame(
                        sequence=entry["sequence"],
                        captured_at=captured_at,
                        url=entry.get("url", ""),
                        viewport_width=manifest.get("viewport_width", 0),
                        viewport_height=manifest.get("viewport_height", 0),
                        image=(folder / entry["file"]).read_bytes(),
                    )
                )

        results = []
        try:
            for answer in self.sessions.Browse(requests(), metadata=self._metadata(session_id), timeout=None):
                if answer.HasField("frame"):
                    results.append(_to_dict(answer.frame))
                    if len(results) == len(manifest["frames"]):
                        break
        except grpc.RpcError as error:
            raise InteraRecError(error.code().name, error.details() or "") from None
        return results

    def end_session(self, session_id: str) -> Dict[str, Any]:
        """Closes the session: pending frames form a last batch; later frames are refused."""
        request = sessions_pb2.EndSessionRequest(session_id=session_id)
        return _to_dict(self._call(self.sessions.EndSession, request, session_id).session)

    def get_session(self, session_id: str) -> Dict[str, Any]:
        request = sessions_pb2.GetSessionRequest(session_id=session_id)
        return _to_dict(self._call(self.sessions.GetSession, request, session_id).session)

    def watch(self, session_id: str, from_sequence: int = 1, resume_token: str = "") -> Iterator[Dict[str, Any]]:
        """The session's events from ``from_sequence`` on (or right after the event whose
        ``resume_token`` is given), then new ones as they happen, until ``session-ended``: each
        ``{"session_id", "sequence", "at_unix_ms", "kind", "payload", "resume_token"}`` with the
        kind by name (``"recommendation"``) and the payload as a dict."""
        request = sessions_pb2.WatchSessionRequest(
            session_id=session_id, from_sequence=from_sequence, page_token=resume_token
        )
        try:
            for answer in self.sessions.WatchSession(request, metadata=self._metadata(session_id), timeout=None):
                event = answer.event
                yield {
                    "session_id": event.session_id,
                    "sequence": event.event_sequence,
                    "at_unix_ms": event.at.ToMilliseconds(),
                    "kind": _EVENT_KINDS.get(event.kind, ""),
                    "payload": _whole_numbers(json_format.MessageToDict(event.payload)),
                    "resume_token": answer.next_page_token,
                }
        except grpc.RpcError as error:
            raise InteraRecError(error.code().name, error.details() or "") from None
