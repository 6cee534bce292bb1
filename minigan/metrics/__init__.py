"""Metrics of generated digits, through a digit classifier trained with minigan (see evaluate.py)."""
from minigan.metrics.classifier import DigitClassifier, embed, load_classifier
from minigan.metrics.evaluate import DEFAULT_SAMPLES, Evaluator, Scores, report
from minigan.metrics.scores import (
    frechet_distance, gaussian, inception_score, mode_coverage, near_duplicate_rate, nearest_neighbour_distances)
