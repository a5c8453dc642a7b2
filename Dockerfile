# Algorithm container for grand-challenge.org (and for running on a folder of scans on-site).
#   ./test.sh      build, then run the bundled example cases the way the platform does
#   ./export.sh    docker save | gzip for upload, plus model.tar.gz of the weights
# Without registry access, point BASE_IMAGE at a local image with python 3.11, pip and torch:
#   docker build --network host --build-arg BASE_IMAGE=local/pytorch:cpu -t lesionseg-algorithm .
# The default base is the official PyTorch runtime image (Python 3.11.10, CUDA 12.4, cuDNN 9);
# PyTorch comes from it, everything else is pinned in requirements.txt.
ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

# Stage 1: the code and weights, made world-readable whatever the modes in the checkout (a
# freshly saved model.safetensors is often 0600) without a second copy of them in the image.
FROM --platform=linux/amd64 ${BASE_IMAGE} AS code
COPY algorithm/ /staging/algorithm/
RUN chmod -R u=rwX,go=rX /staging/algorithm

# Stage 2: the image.
FROM --platform=linux/amd64 ${BASE_IMAGE}

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
 && python -c "import numpy, scipy, SimpleITK, pydantic, safetensors, torch; print('torch', torch.__version__, 'numpy', numpy.__version__)"

# Then the code, with the weights and model card in algorithm/weights/ when present (a model
# uploaded separately to grand-challenge is extracted to /opt/ml/model/ and takes precedence).
# Owned by root and read-only to the user: the running algorithm cannot modify itself.
COPY --from=code /staging/algorithm/ /opt/app/algorithm/

ENTRYPOINT ["python", "-m", "algorithm"]
