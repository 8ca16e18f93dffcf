FROM dockyard-local/python:3.11-slim
ARG FOO=bar
COPY a.txt /a.txt
RUN echo "$FOO" > /foo.txt
RUN ["touch", "/exec"]
CMD ["python3"]
