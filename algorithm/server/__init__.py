"""``lesionseg serve``: a local HTTP server through which viewers (3D Slicer, napari, OHIF)
segment lesions click by click, with the model loaded once and each image prepared once.

    schemas     the request and response models (the OpenAPI schema, docs/serve_openapi.json)
    mask_codec  a lesion's mask as its bounding box, zlib-compressed (the wire and memory format)
    prompting   one prompt on one lesion: the shared pipeline, then the mask and measurements
    sessions    sessions (one image each), their lesions with undo, and the limits on both
    uploads     image bodies streamed to disk, paths the server may read, self-contained files
    limits      request body limits enforced while the body streams in (ASGI middleware)
    app         the FastAPI application: routes, the bearer token, one-line errors
    options     the command's options (no FastAPI import, so the CLI starts fast)
    run         the command: settings, warm-up, uvicorn
    openapi     the schema committed as docs/serve_openapi.json

The API is documented in docs/serve.md.
"""
