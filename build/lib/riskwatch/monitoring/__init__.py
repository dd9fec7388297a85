"""Monitoring: data, prediction and performance drift; the label-free performance estimate."""
