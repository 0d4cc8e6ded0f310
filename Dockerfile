# DockerPanel as a container. Build it with `make image` (scripts/image.sh), which first builds the
# wheels on the host into build/wheels: nothing here reaches a Python package index, so the image
# builds where containers cannot (only Debian's packages are fetched, with retries).
ARG BASE=debian:bookworm

FROM ${BASE} AS python
COPY deploy/apt-install.sh /usr/local/bin/apt-install
RUN apt-install python3 ca-certificates

FROM python AS wheels
RUN apt-install python3-venv
COPY requirements.txt /tmp/requirements.txt
COPY build/wheels /tmp/wheels
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --quiet --no-index --find-links /tmp/wheels -r /tmp/requirements.txt \
 && /opt/venv/bin/pip uninstall --quiet --yes pip

FROM python
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DOCKERPANEL_DATA=/data \
    ALLOWED_HOSTS=127.0.0.1,localhost,[::1]
# The panel's own user; the entry point adds it to the engine socket's group at start.
RUN groupadd --system --gid 10001 dockerpanel \
 && useradd --system --uid 10001 --gid dockerpanel --home-dir /data --no-create-home --shell /usr/sbin/nologin dockerpanel \
 && mkdir /data && chown dockerpanel:dockerpanel /data
COPY --from=wheels /opt/venv /opt/venv
WORKDIR /app
COPY manage.py ./
COPY dockerpanel dockerpanel
COPY containers containers
COPY hosts hosts
COPY templates templates
COPY locale locale
COPY static static
COPY deploy/entrypoint.sh deploy/healthcheck.py deploy/
# Static files are collected (and compressed) now, not at every start; the key is for this step only.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret-0123456789 DOCKERPANEL_DATA=/tmp/build-data \
    python3 manage.py collectstatic --noinput --verbosity 0 \
 && python3 -m compileall -q dockerpanel containers \
 && rm -rf /tmp/build-data
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 \
  CMD ["setpriv", "--reuid=10001", "--regid=10001", "--clear-groups", "python3", "/app/deploy/healthcheck.py"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["serve"]
