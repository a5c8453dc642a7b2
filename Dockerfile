# Algorithm container for grand-challenge.org (and for running on a folder of scans on-site).
# Two images from one build, sharing every layer but the last:
#   --target exec    (the default) one case per container run: `python -m algorithm`
#   --target invoke  grand-challenge's invoke API: a server on port 4743 that loads the model
#                    once and segments case after case (`python -m algorithm.platform_server`)
#   ./test.sh      build both, then run the bundled example cases the way the platform does
#   ./export.sh    docker save | gzip of each for upload, plus model.tar.gz of the weights
# Without registry access, point BASE_IMAGE at a local image with python 3.11, pip and torch:
#   docker build --network host --build-arg BASE_IMAGE=local/pytorch:cpu -t lesionseg-algorithm .
# LESIONSEG_WRITE_PROBABILITY=1 (build argument or `docker run --env`) adds the lesion
# probability map to the outputs, for an algorithm that has the lesion-probability socket.
# The default base is the official PyTorch runtime image (Python 3.11.10, CUDA 12.4, cuDNN 9);
# PyTorch comes from it, everything else is pinned in requirements.txt.
ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

# Stage 1: the code and weights, made world-readable whatever the modes in the checkout (a
# freshly saved model.safetensors is often 0600) without a second copy of them in the image.
FROM --platform=linux/amd64 ${BASE_IMAGE} AS code
COPY algorithm/ /staging/algorithm/
RUN chmod -R u=rwX,go=rX /staging/algorithm

# Stage 2: the exec-mode image.
FROM --platform=linux/amd64 ${BASE_IMAGE} AS exec

LABEL org.opencontainers.image.title="lesionseg-algorithm" \
      org.opencontainers.image.description="Minimally interactive 3D tumour segmentation for CT and MRI from six clicks" \
      org.opencontainers.image.licenses="Apache-2.0"

# PYTHONUSERBASE pins where `pip install --user` puts the dependencies, so they are found even
# when the container is started with another uid (`docker run --user "$(id -u):$(id -g)"`).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUSERBASE=/home/user/.local \
    PATH=/home/user/.local/bin:${PATH}

# grand-challenge runs the image as a non-root user; /output is created writable for it.
RUN groupadd --system user \
 && useradd --system --create-home --home-dir /home/user --no-log-init --gid user user \
 && chmod 755 /home/user \
 && mkdir -p /opt/app /input /output \
 && chown user:user /output

USER user
WORKDIR /opt/app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt /opt/app/requirements.txt
RUN python -m pip install --user --no-cache-dir -r /opt/app/requirements.txt \
 && python -c "import numpy, scipy, SimpleITK, pydantic, safetensors, fastapi, uvicorn, torch; print('torch', torch.__version__, 'numpy', numpy.__version__)"

# Then the code, with the weights and model card in algorithm/weights/ when present (a model
# uploaded separately to grand-challenge is extracted to /opt/ml/model/ and takes precedence).
# Owned by root and read-only to the user: the running algorithm cannot modify itself.
COPY --from=code /staging/algorithm/ /opt/app/algorithm/

# 1 adds images/lesion-probability/ to the outputs (algorithm/io/case_outputs.py says why not
# by default); declared last, so changing it rebuilds no other layer.
ARG LESIONSEG_WRITE_PROBABILITY=0
ENV LESIONSEG_WRITE_PROBABILITY=${LESIONSEG_WRITE_PROBABILITY}

ENTRYPOINT ["python", "-m", "algorithm"]

# Stage 3: the invoke-mode image, the exec image plus the label grand-challenge reads
# (org.grand-challenge.api-method; without it the platform runs an image in exec mode), the
# invoke API's port and the server as entry point.
FROM exec AS invoke
LABEL org.opencontainers.image.title="lesionseg-algorithm-invoke" \
      org.grand-challenge.api-method="invoke"
EXPOSE 4743
ENTRYPOINT ["python", "-m", "algorithm.platform_server"]

# The last stage is what a plain `docker build .` builds: exec mode stays the default image.
FROM exec
