FROM scratch
ARG NOTE=hello
COPY a1.txt /srv/a.txt
COPY b.txt /srv/b.txt
COPY a2.txt /srv/a.txt
LABEL purpose=dockyard-fixture
