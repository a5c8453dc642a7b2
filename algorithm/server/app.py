"""The HTTP API of ``lesionseg serve`` (docs/serve.md): sessions, lesions, prompts, undo, reset,
and saving a finished lesion as a training case (``--save-dir``).

Every error is ``{"detail": "<one line>"}``: 400 input the pipeline cannot use (an unreadable
image, clicks outside it), 401 no or a wrong bearer token, 403 a path outside ``--allow-dir``,
or saving without ``--save-dir``, 404 no such session or lesion, 409 nothing to undo, nothing
to save or a case id already saved, 413 a body over its limit, 422 a request that does not
match the schema, 429 a session or lesion limit reached, 500 a crash inside one request
(logged with its trace; the lesion keeps the state it had, the session stays usable).

Segmentation runs in a worker thread, one step at a time per session, so the event loop keeps
answering other sessions' light requests meanwhile.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import SimpleITK as sitk
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

import algorithm
from algorithm.cli_support import failure_message
from algorithm.errors import InputError
from algorithm.io.retraining_folder import (
    IMAGES, LABELS, RECORDS, FILE_ENDING, CaseExists, saved_case_ids, store_case,
)
from algorithm.measurements import recist_axes_value
from algorithm.methods.base import Segmenter
from algorithm.pipeline import PipelineConfig, PreparedImage
from algorithm.preprocessing import Modality
from algorithm.prompts import MultiplePoints
from algorithm.server.limits import BodyLimit
from algorithm.server.mask_codec import StoredMask
from algorithm.server.prompting import LesionState, apply_prompt, empty_state
from algorithm.server.schemas import (
    EncodedMask, ErrorMessage, FromPathRequest, Health, ImageGeometry, LesionInfo, LesionResult,
    NewLesion, Prompt, SaveCaseRequest, SavedCase, SessionInfo, SessionSummary,
)
from algorithm.server.sessions import (
    Lesion, Limits, LimitReached, NotFound, NothingToUndo, Session, SessionStore,
)
from algorithm.server.uploads import (
    PathRefused, read_allowed_image, read_uploaded_image, resolve_allowed, upload_label,
    write_stream,
)

log = logging.getLogger("lesionseg.serve")

JSON_BODY_LIMIT = 1 << 20  #: prompts and other JSON bodies; thousands of clicks fit
UPLOAD_PATH = "/sessions"
MASK_FILE_TYPES = {"mha": ".mha", "nrrd": ".nrrd", "nii.gz": ".nii.gz"}


@dataclass(frozen=True)
class ServerSettings:
    token: str | None = None
    allow_dirs: tuple[Path, ...] = ()
    max_upload_bytes: int = 1024 << 20
    max_image_bytes: int = 4096 << 20  #: voxel bytes an image's header may declare
    limits: Limits = Limits()
    grid_cache: int = 8  #: model-grid inputs kept per session
    compute_threads: int = 1
    pipeline: PipelineConfig = PipelineConfig()  #: no confidence score unless --confidence
    suggest: bool = False  #: compute each answer's suggested next click (--suggest)
    modality: Modality | None = None  #: the default; a session may say otherwise
    upload_dir: Path | None = None  #: where uploads stream to (the system's temp by default)
    #: browser viewers (OHIF) served from these origins may call the server (CORS)
    cors_origins: tuple[str, ...] = ()
    #: the Host header must name one of these (a loopback server: loopback names only, so that
    #: a web page cannot reach it through DNS rebinding); None: any
    allowed_hosts: tuple[str, ...] | None = None
    sweep_seconds: float = 30.0  #: how often idle sessions are looked for
    #: where finished lesions are saved as training cases (--save-dir); None: saving is off
    save_dir: Path | None = None


class InternalFailure(Exception):
    """A crash inside one request, already logged with its trace."""


class NothingToSave(Exception):
    """A lesion without a mask cannot be a training case."""


@dataclass
class ServerState:
    settings: ServerSettings
    segmenter: Segmenter
    store: SessionStore
    pool: ThreadPoolExecutor = field(init=False)
    pending_uploads: int = 0

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(self.settings.compute_threads,
                                       thread_name_prefix="lesionseg-segment")


ERRORS = {code: {"model": ErrorMessage} for code in (400, 401, 404, 409, 413, 422, 429, 500)}


def create_app(settings: ServerSettings, segmenter: Segmenter,
               clock: Callable[[], float] = time.monotonic) -> FastAPI:
    state = ServerState(settings, segmenter, SessionStore(settings.limits, clock))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        sweeper = asyncio.create_task(_sweep(state))
        try:
            yield
        finally:
            sweeper.cancel()
            state.pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="lesionseg serve", version=algorithm.__version__, lifespan=lifespan,
                  description=_description(), responses=ERRORS)
    app.state.server = state
    app.add_middleware(BodyLimit, limit_for=lambda scope: _body_limit(scope, settings))
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    if settings.allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    _add_error_handlers(app)
    app.include_router(_health_router(state))
    app.include_router(_session_router(state))
    return app


def _description() -> str:
    return ("Interactive lesion segmentation for viewers: upload an image (a session), add "
            "lesions, send clicks, get each lesion's mask and measurements. Clicks are world mm, "
            "LPS. See docs/serve.md.")


def _body_limit(scope, settings: ServerSettings) -> tuple[int, str]:
    if scope.get("method") == "POST" and scope.get("path") == UPLOAD_PATH:
        return settings.max_upload_bytes, "--max-upload-mb"
    return JSON_BODY_LIMIT, "request bodies other than uploads"


async def _sweep(state: ServerState) -> None:
    while True:
        await asyncio.sleep(state.settings.sweep_seconds)
        for sid in state.store.expire():
            log.info("session %s expired after %g s idle", sid, state.settings.limits.idle_seconds)


# ---------------------------------------------------------------- errors


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": " ".join(message.split())}, status_code=status,
                        headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    statuses = {InputError: 400, PathRefused: 403, NotFound: 404, NothingToUndo: 409,
                CaseExists: 409, NothingToSave: 409, LimitReached: 429, InternalFailure: 500}
    for kind, status in statuses.items():
        app.add_exception_handler(kind, _handler_for(status))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, failure_message(exc))


def _handler_for(status: int):
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return _error(status, str(exc) or type(exc).__name__)

    return handler


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "<body>"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid request at '{where}': {first.get('msg', 'invalid')}{more}"


# ---------------------------------------------------------------- token

_bearer = HTTPBearer(auto_error=False, description="the server's --token (or $LESIONSEG_TOKEN), "
                     "when it was started with one")


def _token_check(settings: ServerSettings):
    expected = settings.token.encode() if settings.token else None

    def require_token(credentials: Annotated[HTTPAuthorizationCredentials | None,
                                             Depends(_bearer)]) -> None:
        if expected is None:
            return
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(401, "a valid bearer token is needed (header Authorization: "
                                "Bearer <token>)", headers={"WWW-Authenticate": "Bearer"})

    return require_token


# ---------------------------------------------------------------- views


def _geometry(image: sitk.Image) -> ImageGeometry:
    return ImageGeometry(size=image.GetSize(), spacing=image.GetSpacing(),
                         origin=image.GetOrigin(), direction=image.GetDirection(),
                         pixel_type=image.GetPixelIDTypeAsString())


def _lesion_info(lesion: Lesion) -> LesionInfo:
    current = lesion.current
    return LesionInfo(id=lesion.id, name=lesion.name, step=lesion.step,
                      clicks=MultiplePoints.model_validate(current.clicks.to_multiple_points()),
                      prompt_kinds=list(current.prompts.kinds),
                      voxels=current.mask.voxels, measurements=current.measurements,
                      recist_axes=recist_axes_value(current.measurements),
                      warnings=list(current.warnings), confidence=current.confidence,
                      fine_tune=current.fine_tune, suggestion=current.suggestion)


def _lesion_result(lesion: Lesion, start: float) -> LesionResult:
    return LesionResult(**_lesion_info(lesion).model_dump(), mask=lesion.current.mask.encoded(),
                        seconds=round(time.perf_counter() - start, 4))


def _session_info(state: ServerState, session: Session) -> SessionInfo:
    return SessionInfo(id=session.id, source=session.source, modality=session.prepared.modality,
                       image=_geometry(session.prepared.image), method=state.segmenter.name,
                       expires_after_idle_s=state.settings.limits.idle_seconds,
                       lesions=[_lesion_info(lesion) for lesion in session.lesions.values()])


# ---------------------------------------------------------------- routes


def _health_router(state: ServerState) -> APIRouter:
    router = APIRouter()

    @router.get("/health", response_model=Health, tags=["server"])
    async def health() -> Health:
        """Ready to serve (no token needed)."""
        s = state.settings
        return Health(status="ok", version=algorithm.__version__, method=state.segmenter.name,
                      sessions=len(state.store), max_sessions=s.limits.max_sessions,
                      max_upload_mb=s.max_upload_bytes / 2**20, token_required=bool(s.token),
                      save_cases=s.save_dir is not None)

    return router


def _session_router(state: ServerState) -> APIRouter:
    settings, store = state.settings, state.store
    router = APIRouter(dependencies=[Depends(_token_check(settings))])

    def prepare(image: sitk.Image,
                modality: Modality | None) -> tuple[PreparedImage, LesionState]:
        """In a worker thread: the session's prepared image and its empty lesion."""
        prepared = PreparedImage.of(image, modality or settings.modality, settings.grid_cache)
        return prepared, empty_state(image)

    def check_room() -> None:
        store.check_room()
        if len(store) + state.pending_uploads >= settings.limits.max_sessions:
            raise LimitReached(f"the server holds its maximum of "
                               f"{settings.limits.max_sessions} sessions (some still loading)")

    @router.post(UPLOAD_PATH, status_code=201, response_model=SessionInfo, tags=["sessions"],
                 openapi_extra={"requestBody": {"required": True, "description": "the image "
                                "file's bytes: one MetaImage (.mha), NIfTI (.nii, .nii.gz) or "
                                "NRRD (.nrrd) file with its data attached", "content": {
                                    "application/octet-stream": {
                                        "schema": {"type": "string", "format": "binary"}}}}})
    async def upload_session(
        request: Request,
        filename: Annotated[str | None, Query(max_length=255, description="the file's name, "
                                              "for messages and the session's source")] = None,
        modality: Annotated[Literal["CT", "MR"] | None, Query(
            description="overrides the header and the intensity test")] = None,
    ) -> SessionInfo:
        """A session for an uploaded image (the request body, streamed; limit --max-upload-mb).
        The image is read and prepared once, for every prompt that follows."""
        check_room()
        label = upload_label(filename)
        state.pending_uploads += 1
        folder = Path(tempfile.mkdtemp(prefix="lesionseg-upload-", dir=settings.upload_dir))
        try:
            body = folder / "body"
            try:
                received = await write_stream(request.stream(), body)
            except ClientDisconnect:
                log.info("upload of %s abandoned: the client disconnected", label)
                return Response(status_code=400)  # nobody is left to read it
            if received == 0:
                raise InputError("the request has no body: send the image file's bytes "
                                 "(Content-Type: application/octet-stream)")
            prepared = await run_in_threadpool(
                lambda: prepare(read_uploaded_image(body, label, settings.max_image_bytes)[0],
                                modality))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            state.pending_uploads -= 1
        return _session_info(state, store.create(filename or label, *prepared))

    @router.post("/sessions/from-path", status_code=201, response_model=SessionInfo,
                 tags=["sessions"], responses={403: {"model": ErrorMessage}})
    async def path_session(request_body: FromPathRequest) -> SessionInfo:
        """A session for an image on the server's disk, inside a folder given by --allow-dir."""
        check_room()
        path = resolve_allowed(request_body.path, settings.allow_dirs)
        state.pending_uploads += 1
        try:
            image = await run_in_threadpool(read_allowed_image, path, settings.allow_dirs,
                                            request_body.series, settings.max_image_bytes)
            prepared = await run_in_threadpool(prepare, image, request_body.modality)
        finally:
            state.pending_uploads -= 1
        return _session_info(state, store.create(str(path), *prepared))

    @router.get("/sessions", response_model=list[SessionSummary], tags=["sessions"])
    async def list_sessions() -> list[SessionSummary]:
        return [SessionSummary(id=s.id, source=s.source, modality=s.prepared.modality,
                               lesions=len(s.lesions), idle_s=round(store.idle_seconds(s), 3))
                for s in store.all()]

    @router.get("/sessions/{session_id}", response_model=SessionInfo, tags=["sessions"])
    async def get_session(session_id: str) -> SessionInfo:
        return _session_info(state, store.get(session_id))

    @router.delete("/sessions/{session_id}", status_code=204, tags=["sessions"])
    async def delete_session(session_id: str) -> Response:
        """Forget the session, its image and its lesions."""
        store.delete(session_id)
        return Response(status_code=204)

    @router.post("/sessions/{session_id}/lesions", status_code=201, response_model=LesionInfo,
                 tags=["lesions"])
    async def new_lesion(session_id: str,
                         body: Annotated[NewLesion | None, Body()] = None) -> LesionInfo:
        """A new, empty lesion; its id is never given to another lesion of this session."""
        return _lesion_info(store.get(session_id).new_lesion(body.name if body else None))

    @router.get("/sessions/{session_id}/lesions", response_model=list[LesionInfo],
                tags=["lesions"])
    async def list_lesions(session_id: str) -> list[LesionInfo]:
        return [_lesion_info(lesion) for lesion in store.get(session_id).lesions.values()]

    @router.get("/sessions/{session_id}/lesions/{lesion_id}", response_model=LesionInfo,
                tags=["lesions"])
    async def get_lesion(session_id: str, lesion_id: int) -> LesionInfo:
        return _lesion_info(store.get(session_id).lesion(lesion_id))

    @router.delete("/sessions/{session_id}/lesions/{lesion_id}", status_code=204,
                   tags=["lesions"])
    async def delete_lesion(session_id: str, lesion_id: int) -> Response:
        store.get(session_id).delete_lesion(lesion_id)
        return Response(status_code=204)

    @router.get("/sessions/{session_id}/lesions/{lesion_id}/mask", tags=["lesions"],
                response_model=EncodedMask,
                responses={200: {"content": {"application/octet-stream": {}},
                                 "description": "EncodedMask JSON, or with format=mha, nrrd or "
                                 "nii.gz the whole mask as an image file on the session image's "
                                 "grid"}})
    async def get_mask(session_id: str, lesion_id: int,
                       format: Literal["json", "mha", "nrrd", "nii.gz"] = "json"):
        """The lesion's current mask."""
        session = store.get(session_id)
        mask = session.lesion(lesion_id).current.mask
        if format == "json":
            return mask.encoded()
        data = await run_in_threadpool(_mask_file, mask, session.prepared.image,
                                       MASK_FILE_TYPES[format])
        return Response(data, media_type="application/octet-stream", headers={
            "Content-Disposition": f'attachment; filename="lesion-{lesion_id}.{format}"'})

    async def step(session: Session, lesion: Lesion,
                   work: Callable[[], LesionState] | None, undo: bool = False,
                   reset: bool = False) -> LesionResult:
        """One change to a lesion, serialised with the session's others; a computed state is
        committed only when its computation succeeded."""
        start = time.perf_counter()
        async with session.lock:
            if work is not None:
                loop = asyncio.get_running_loop()
                try:
                    new = await loop.run_in_executor(state.pool, work)
                except InputError:
                    raise
                except Exception as exc:
                    log.error("segmentation failed in session %s, lesion %d", session.id,
                              lesion.id, exc_info=exc)
                    raise InternalFailure(failure_message(exc)) from None
                if lesion.id not in session.lesions:
                    raise NotFound(f"lesion {lesion.id} was deleted meanwhile")
                lesion.push(new)
            elif undo:
                lesion.undo()
            elif reset:
                lesion.reset()
            session.last_used = store.clock()
        return _lesion_result(lesion, start)

    @router.post("/sessions/{session_id}/lesions/{lesion_id}/prompts",
                 response_model=LesionResult, tags=["lesions"])
    async def prompt(session_id: str, lesion_id: int, body: Annotated[Prompt, Body()]
                     ) -> LesionResult:
        """Segment or refine the lesion; its new mask and measurements."""
        session = store.get(session_id)
        lesion = session.lesion(lesion_id)

        def work() -> LesionState:
            return apply_prompt(session.prepared, lesion.current, body, state.segmenter,
                                settings.pipeline, suggest=settings.suggest)

        return await step(session, lesion, work)

    @router.post("/sessions/{session_id}/lesions/{lesion_id}/undo",
                 response_model=LesionResult, tags=["lesions"])
    async def undo(session_id: str, lesion_id: int) -> LesionResult:
        """Back one step: the lesion's clicks and mask before its last prompt or reset."""
        session = store.get(session_id)
        return await step(session, session.lesion(lesion_id), None, undo=True)

    @router.post("/sessions/{session_id}/lesions/{lesion_id}/reset",
                 response_model=LesionResult, tags=["lesions"])
    async def reset(session_id: str, lesion_id: int) -> LesionResult:
        """The lesion back to empty (no clicks, no mask), as a step undo can take back."""
        session = store.get(session_id)
        return await step(session, session.lesion(lesion_id), None, reset=True)

    @router.post("/sessions/{session_id}/lesions/{lesion_id}/save", status_code=201,
                 response_model=SavedCase, tags=["lesions"],
                 responses={403: {"model": ErrorMessage}})
    async def save(session_id: str, lesion_id: int,
                   body: Annotated[SaveCaseRequest | None, Body()] = None) -> SavedCase:
        """Save the lesion as it is now (the session's image, the lesion's mask, the prompts
        it was made from) as a training case in the --save-dir folder, an nnU-Net dataset
        that ``python -m training.train`` retrains on."""
        if settings.save_dir is None:
            raise HTTPException(403, "saving cases is off: start the server with --save-dir "
                                "FOLDER")
        body = body or SaveCaseRequest()
        session = store.get(session_id)
        lesion = session.lesion(lesion_id)
        current = lesion.current  # immutable: later prompts do not change what is saved
        if current.mask.voxels == 0:
            raise NothingToSave(f"lesion {lesion_id} has no mask to save: send it a prompt "
                                "first")
        case_id = await run_in_threadpool(
            store_case, settings.save_dir, session.prepared.image,
            current.mask.to_image(session.prepared.image), case_id=body.case_id,
            patient_id=body.patient_id, prompts=current.prompt_values, source=session.source,
            licence=body.licence, modality=session.prepared.modality)
        log.info("session %s, lesion %d saved as case %s", session.id, lesion_id, case_id)
        return SavedCase(case_id=case_id, patient_id=(body.patient_id or "").strip() or case_id,
                         image=f"{IMAGES}/{case_id}_0000{FILE_ENDING}",
                         label=f"{LABELS}/{case_id}{FILE_ENDING}",
                         record=f"{RECORDS}/{case_id}.json", voxels=current.mask.voxels,
                         cases=len(saved_case_ids(settings.save_dir)))

    return router


def _mask_file(mask: StoredMask, reference: sitk.Image, suffix: str) -> bytes:
    image = mask.to_image(reference)
    with tempfile.TemporaryDirectory(prefix="lesionseg-mask-") as folder:
        path = Path(folder) / f"mask{suffix}"
        sitk.WriteImage(image, str(path), useCompression=True)
        return path.read_bytes()
