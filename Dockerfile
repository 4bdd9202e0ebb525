# One image for the API and the chat; compose.yaml runs it twice beside a Chroma server.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False
# torch first and pinned to the CPU build: a looser spec pulls gigabytes of CUDA packages.
# (Use the CPU wheel index of PyTorch where one is reachable.)
RUN pip install --no-cache-dir torch==2.13.0
COPY pyproject.toml README.md ./
COPY rag rag
COPY ingest ingest
COPY server server
COPY ui ui
COPY .streamlit .streamlit
RUN pip install --no-cache-dir .
COPY corpus corpus
EXPOSE 8000 8501
CMD ["python", "-m", "server", "--host", "0.0.0.0", "--port", "8000"]
