FROM dockyard-local/python:3.11-slim
ARG APP_VERSION=1.2.3
ARG BUILD_MODE=release
ENV APP_HOME=/app
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/pip echo "$APP_VERSION $BUILD_MODE" > /app/version.txt && head -c 100000 /dev/urandom > /app/blob.bin
COPY hello.txt /app/hello.txt
RUN mkdir -p /app/d && echo a > /app/d/a && echo bb > /app/d/b && ln -s /app/hello.txt /app/link && ln /app/hello.txt /app/hard
RUN rm -rf /app/d && rm /app/blob.bin
LABEL org.example=1
CMD ["python3", "-c", "print(1)"]
