"""Farming: Runner, Harvester, Sampler, label and the runner functions."""
