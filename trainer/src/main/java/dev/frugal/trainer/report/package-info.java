/**
 * The run report: {@link dev.frugal.trainer.report.RunReport} turns one run directory's
 * {@code summary.json} and {@code metrics.jsonl} into {@code report.html} with PNG plots, and
 * {@link dev.frugal.trainer.report.RunComparison} puts several runs on the same axes. Plots are
 * drawn by JFreeChart, headless; pages are plain HTML with inline CSS that open from disk with no
 * network. Every field of the metrics is optional: a plot whose data is missing is skipped and the
 * page says why.
 */
package dev.frugal.trainer.report;
