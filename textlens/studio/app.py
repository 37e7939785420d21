"""The routes of ``textlens studio`` (FastAPI): pages, their images and annotations, undo, pre-labels, uploads,
validation and exports, plus the static page of the annotation tool (docs/studio.md).

Access: on a loopback address only requests naming a loopback host are answered (a web page elsewhere cannot
reach the server through DNS rebinding); on any other address every request needs the random token printed in
the URL (``?token=``, then a cookie). Requests that change anything must carry ``X-Requested-With:
textlens-studio``, which a page of another site cannot send without the browser asking first, and this server
never says yes. File names in URLs are checked by ``textlens.studio.paths``: outside the folder is 403, unknown
is 404. Errors are JSON ``{"error": name, "message": text}``.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from PIL import Image

from textlens import __version__
from textlens.errors import AnnotationError, ConfigError, TextlensError
from textlens.io.limits import DEFAULT_MAX_PIXELS, MIN_SIDE, check_options, check_size
from textlens.studio.export import export_icdar2015, export_lmdb, export_split
from textlens.studio.paths import IMAGE_SUFFIXES, OutsideFolder, resolve_inside
from textlens.studio.pdf_render import render_pdf_pages
from textlens.studio.prelabel import Prelabeler, Reader, default_reader
from textlens.studio.store import Conflict, PageStore, clean_words
from textlens.studio.validate import ReaderFactory, Validator, default_reader_factory

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
TOKEN_COOKIE = "textlens_studio_token"
WRITE_HEADER = ("x-requested-with", "textlens-studio")
#: The largest upload and the largest JSON body, in bytes.
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024
MAX_JSON_BYTES = 4 * 1024 * 1024
UPLOAD_DIR = "uploads"
STATIC = resources.files("textlens.studio") / "static"


class StudioError(Exception):
    def __init__(self, status: int, error: str, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra or {}


def _static_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in STATIC.iterdir() if p.is_file()}


def create_app(
    root: str | Path,
    token: str | None = None,
    reader_factory: Callable[[], Reader] | None = None,
    validate_factory: ReaderFactory = default_reader_factory,
    max_upload: int = DEFAULT_MAX_UPLOAD,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    threads: int | None = None,
) -> FastAPI:
    """The studio over the folder ``root``; ``token`` (for non-loopback addresses) is required of every request."""
    store = PageStore(root)
    root = store.root
    pdf_pages, pdf_problems = render_pdf_pages(root, max_pixels)
    for pdf_page in pdf_pages:  # before the pre-labeler takes its list of pages
        store.add_image(pdf_page)
    for problem in pdf_problems:  # a damaged PDF is named and skipped; the other pages stay usable
        logging.getLogger("textlens.studio").warning("skipped PDF %s", problem)
    prelabeler = Prelabeler(root, store.images, reader_factory or (lambda: default_reader(threads)), max_pixels)
    validator = Validator(root, validate_factory)
    static = _static_files()
    media = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".png": "image/png"}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prelabeler.start()
        try:
            yield
        finally:  # every acknowledged edit is already on disk; only background reading is left to stop
            await asyncio.to_thread(prelabeler.close)
            await asyncio.to_thread(validator.close)

    app = FastAPI(title="textlens studio", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.store, app.state.prelabeler, app.state.validator = store, prelabeler, validator
    app.state.pdf_problems = pdf_problems

    @app.exception_handler(StudioError)
    async def _studio_error(request: Request, exc: StudioError) -> JSONResponse:
        return JSONResponse({"error": exc.error, "message": exc.message, **exc.extra}, status_code=exc.status)

    @app.middleware("http")
    async def _guard(request: Request, call_next: Any) -> Response:
        host = request.url.hostname or ""
        query_token = request.query_params.get("token", "")
        if token is None:
            if host not in LOOPBACK_HOSTS:
                return _error(403, "Forbidden", f"this server answers only requests to a loopback host, not {host!r}")
        elif not any(
            hmac.compare_digest(given.encode(), token.encode())
            for given in (query_token, request.cookies.get(TOKEN_COOKIE, ""), request.headers.get("x-studio-token", ""))
        ):
            return _error(401, "Unauthorized", "open the URL with the token that textlens studio printed")
        if request.method not in ("GET", "HEAD") and request.headers.get(WRITE_HEADER[0]) != WRITE_HEADER[1]:
            return _error(403, "Forbidden", f"requests that change data need the header {WRITE_HEADER[0]}")
        response = await call_next(request)
        if token is not None and query_token:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def page_name(name: str) -> str:
        try:
            resolve_inside(root, name)
        except OutsideFolder as exc:
            raise StudioError(403, "Forbidden", exc.problem) from None
        if name not in store.images:
            raise StudioError(404, "NotFound", f"{name}: no such page in the folder")
        return name

    async def json_body(request: Request) -> dict[str, Any]:
        body = await request.body()
        if len(body) > MAX_JSON_BYTES:
            raise StudioError(413, "TooLarge", f"the request body exceeds {MAX_JSON_BYTES} bytes")
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise StudioError(422, "InvalidRequest", "the body must be JSON") from None
        if not isinstance(data, dict):
            raise StudioError(422, "InvalidRequest", "the body must be a JSON object")
        return data

    def version_of(data: dict[str, Any]) -> int:
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise StudioError(422, "InvalidRequest", "'version' must be the page version the edit is based on")
        return version

    def page_json(name: str) -> dict[str, Any]:
        saved = store.saved(name)
        out: dict[str, Any] = (saved.to_json() if saved else {"image": name, "version": 0, "words": []}) | {
            "prelabels": prelabeler.get(name) if saved is None else {"status": "saved"}
        }
        return out

    @app.get("/")
    async def index() -> Response:
        return Response(static["index.html"], media_type=media[".html"])

    @app.get("/favicon.ico")
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/{name}")
    async def static_file(name: str) -> Response:
        if name not in static:
            raise StudioError(404, "NotFound", f"{name}: no such file")
        return Response(static[name], media_type=media.get(PurePosixPath(name).suffix, "application/octet-stream"))

    @app.get("/api/info")
    async def info() -> dict[str, Any]:
        from textlens.models.bundle import list_bundles

        bundles = list_bundles(onnx=True)
        return {
            "folder": root.name,
            "version": __version__,
            "detectors": [b.name for b in bundles if b.family == "detection"],
            "recognizers": [b.name for b in bundles if b.family == "recognition"],
            "max_upload": max_upload,
        }

    @app.get("/api/pages")
    async def pages() -> list[dict[str, Any]]:
        return await asyncio.to_thread(page_list)

    def page_list() -> list[dict[str, Any]]:
        annotated = set(store.annotated())
        out = []
        for name in store.images:
            entry: dict[str, Any] = {"image": name, "annotated": name in annotated}
            if name in annotated and (saved := store.saved(name)):
                entry |= {"version": saved.version, "words": len(saved.words)}
                entry["unchecked"] = sum(not w.get("checked") for w in saved.words)
            out.append(entry)
        return out

    @app.get("/api/pages/{name:path}")
    async def get_page(name: str) -> dict[str, Any]:
        return await asyncio.to_thread(page_json, page_name(name))

    @app.put("/api/pages/{name:path}")
    async def put_page(name: str, request: Request) -> dict[str, Any]:
        name = page_name(name)
        data = await json_body(request)
        version = version_of(data)
        try:
            words = clean_words(data.get("words"), name)
            before = clean_words(data["before"], name) if isinstance(data.get("before"), list) else None
            state = await asyncio.to_thread(store.save, name, version, words, before)
        except Conflict as exc:
            raise StudioError(409, "Conflict", _conflict_text(exc), {"current": exc.current.to_json()}) from None
        except AnnotationError as exc:
            raise StudioError(422, "InvalidAnnotation", str(exc)) from None
        return state.to_json()

    async def step(name: str, request: Request, direction: int) -> dict[str, Any]:
        name = page_name(name)
        version = version_of(await json_body(request))
        try:
            state = await asyncio.to_thread(store.step, name, version, direction)
        except Conflict as exc:
            raise StudioError(409, "Conflict", _conflict_text(exc), {"current": exc.current.to_json()}) from None
        except AnnotationError as exc:
            raise StudioError(409, "NothingToDo", exc.problem) from None
        return state.to_json()

    @app.post("/api/undo/{name:path}")
    async def undo(name: str, request: Request) -> dict[str, Any]:
        return await step(name, request, -1)

    @app.post("/api/redo/{name:path}")
    async def redo(name: str, request: Request) -> dict[str, Any]:
        return await step(name, request, +1)

    @app.get("/files/{name:path}")
    async def image_file(name: str) -> FileResponse:
        path = resolve_inside(root, page_name(name))
        if not path.is_file():
            raise StudioError(404, "NotFound", f"{name}: the image is missing")
        return FileResponse(path)

    @app.get("/api/crop/{name:path}")
    async def crop(name: str, box: str, height: int = 64) -> Response:
        name = page_name(name)
        try:
            x0, y0, x1, y1 = (float(v) for v in box.split(","))
        except ValueError:
            raise StudioError(422, "InvalidRequest", "box must be x0,y0,x1,y1") from None
        path = resolve_inside(root, name)
        try:
            png = await asyncio.to_thread(_crop_png, path, (x0, y0, x1, y1), height, max_pixels)
        except TextlensError as exc:
            raise StudioError(413, type(exc).__name__, str(exc)) from None
        return Response(png, media_type="image/png")

    @app.post("/api/upload")
    async def upload(request: Request, name: str) -> dict[str, Any]:
        safe = PurePosixPath(name.replace("\\", "/")).name
        if not safe or safe.startswith(".") or PurePosixPath(safe).suffix.lower() not in IMAGE_SUFFIXES:
            raise StudioError(422, "InvalidRequest", f"{name!r}: name an image file ({', '.join(IMAGE_SUFFIXES)})")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_upload:
            raise StudioError(413, "TooLarge", f"{length} bytes exceed the upload limit of {max_upload}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_upload:
                raise StudioError(413, "TooLarge", f"the upload exceeds the limit of {max_upload} bytes")
            chunks.append(chunk)
        data = b"".join(chunks)
        try:
            with Image.open(io.BytesIO(data)) as im:  # the header only: the size is checked before any decoding
                limits = check_options(200, max_pixels, True, MIN_SIDE)
                check_size(im.width, im.height, safe, limits)
                im.verify()
        except TextlensError as exc:
            raise StudioError(413, type(exc).__name__, str(exc)) from None
        except Exception:
            raise StudioError(422, "CorruptImage", f"{safe}: not an image textlens can read") from None
        target = root / UPLOAD_DIR / safe
        if target.exists():
            raise StudioError(409, "Exists", f"{UPLOAD_DIR}/{safe} already exists")
        from textlens.io.atomic import atomic_write_bytes

        target.parent.mkdir(exist_ok=True)
        atomic_write_bytes(target, data)
        rel = f"{UPLOAD_DIR}/{safe}"
        store.add_image(rel)
        prelabeler.add(rel)
        return {"image": rel}

    @app.post("/api/validate")
    async def validate(request: Request) -> dict[str, Any]:
        data = await json_body(request)
        detector, recognizer = data.get("detector") or None, data.get("recognizer") or None
        if not all(v is None or isinstance(v, str) for v in (detector, recognizer)):
            raise StudioError(422, "InvalidRequest", "detector and recognizer are model names or folders")
        job = validator.start(detector, recognizer)
        return {"id": job.id, "status": job.status}

    @app.get("/api/validate/{job_id}")
    async def validation(job_id: str) -> dict[str, Any]:
        job = validator.jobs.get(job_id)
        if job is None:
            raise StudioError(404, "NotFound", f"no validation {job_id!r}")
        return {"id": job.id, "status": job.status, "message": job.message, "result": job.result}

    @app.get("/reports/{rest:path}")
    async def report_file(rest: str) -> FileResponse:
        try:
            path = resolve_inside(validator.reports, rest)
        except OutsideFolder as exc:
            raise StudioError(403, "Forbidden", exc.problem) from None
        if not path.is_file():
            raise StudioError(404, "NotFound", f"{rest}: no such report file")
        return FileResponse(path)

    @app.post("/api/export")
    async def export(request: Request) -> dict[str, Any]:
        data = await json_body(request)
        kind = data.get("kind")
        fraction = data.get("val_fraction", 0.1)
        if not isinstance(fraction, int | float):
            raise StudioError(422, "InvalidRequest", "val_fraction must be a number")
        jobs = {
            "icdar2015": lambda: export_icdar2015(root),
            "split": lambda: export_split(root, float(fraction)),
            "lmdb": lambda: export_lmdb(root, float(fraction)),
        }
        if kind not in jobs:
            raise StudioError(422, "InvalidRequest", f"kind must be one of {', '.join(jobs)}")
        try:
            return await asyncio.to_thread(jobs[kind])
        except (ConfigError, TextlensError) as exc:
            raise StudioError(422, type(exc).__name__, str(exc)) from None

    return app


def _conflict_text(exc: Conflict) -> str:
    return (
        f"the page was changed elsewhere and is now at version {exc.current.version}; "
        "this edit was not saved (load their version, or save yours over it)"
    )


def _crop_png(path: Path, box: tuple[float, float, float, float], height: int, max_pixels: int) -> bytes:
    with Image.open(path) as im:
        check_size(im.width, im.height, str(path), check_options(200, max_pixels, True, MIN_SIDE))
        x0, y0, x1, y1 = box
        pad = max(2.0, 0.15 * (y1 - y0))
        region = im.convert("RGB").crop(
            (max(0, int(x0 - pad)), max(0, int(y0 - pad)), min(im.width, int(x1 + pad)), min(im.height, int(y1 + pad)))
        )
    height = max(16, min(256, height))
    if region.height and region.width:
        scale = height / region.height
        region = region.resize((max(1, min(2048, round(region.width * scale))), height))
    out = io.BytesIO()
    region.save(out, format="PNG")
    return out.getvalue()


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)
