FROM dockyard-local/python:3.11-slim
ARG PIP_INDEX=https://pypi.example/simple
ARG GREETING="hello world"
ARG EMPTY=
ENV PYTHONDONTWRITEBYTECODE=1
WORKDIR /srv
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip echo "$PIP_INDEX" > /srv/index.txt && mkdir -p /root/.cache/pip && ls /root/.cache/pip
RUN ["/bin/sh", "-c", "echo exec-form > /srv/exec.txt"]
RUN echo one && \
    echo two > /srv/two.txt
RUN <<EOT
echo heredoc > /srv/heredoc.txt
echo second line >> /srv/heredoc.txt
EOT
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN echo "$GREETING" | tee /srv/greeting.txt
USER nobody
EXPOSE 8000
HEALTHCHECK --interval=5s CMD python3 -c "print(1)"
ENTRYPOINT ["python3"]
CMD ["-c", "print(1)"]
