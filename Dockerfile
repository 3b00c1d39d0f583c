# The bank warehouse's one image: every service of docker-compose.yml (the Prefect server and worker, the demo bank
# API, the dbt docs site, the dashboard) runs one of its entry points: `bankwh`, `prefect` or `dbt`.
#
# The project is installed at build time from the lock (constraints.txt), never at start, so a container starts
# without the network. The dbt project, prefect.yaml and the flow's source stay in /opt/bankwh, the project
# directory every command finds through BANKWH_PROJECT_DIR.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BANKWH_PROJECT_DIR=/opt/bankwh \
    BANKWH_HOME=/opt/bankwh \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1

WORKDIR /opt/bankwh

# Dependencies first, in a layer of their own that a code change does not rebuild: the runtime dependencies of
# pyproject.toml at the exact versions of the lock.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself (not editable: the image does not depend on its source tree being importable).
COPY . .
RUN pip install --no-deps -c constraints.txt . \
    && bankwh --help >/dev/null && prefect --version >/dev/null && dbt --version >/dev/null

# A user without privileges owns what the services write: dbt's target/ and logs/, dlt's pipelines, the landing,
# API, Delta and report folders and Prefect's home (named volumes mounted there start with this ownership).
RUN useradd --create-home --uid 10001 --user-group bankwh \
    && mkdir -p data/raw data/api data/delta data/reports data/berka target logs .dlt/pipelines /var/lib/prefect \
    && chown -R bankwh:bankwh /opt/bankwh /var/lib/prefect
USER bankwh

EXPOSE 4200 8080 8501 8765
CMD ["bankwh", "--help"]
