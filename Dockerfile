FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY live ./live
COPY commerce ./commerce
COPY media ./media
COPY sandbox ./sandbox
RUN pip install . && useradd --system --uid 10001 yellowcart
USER yellowcart
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["yellowcart", "serve", "--host", "0.0.0.0", "--port", "8000"]
