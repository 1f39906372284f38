"""The fake Google Cloud APIs the deploy tests run the real gcloud CLI against."""
