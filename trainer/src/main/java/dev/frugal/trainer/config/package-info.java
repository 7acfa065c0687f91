/**
 * The configuration of {@code frugal train}: {@link dev.frugal.trainer.config.TrainConfig} holds
 * every option, {@link dev.frugal.trainer.config.ConfigFiles} reads a YAML or JSON file of them.
 * Keys are the command-line flags without their dashes ({@code batch-size}, {@code lr}, ...), so
 * a file, the command line and the run directory's {@code config.json} all use the same names,
 * and {@code config.json} can be passed back as {@code --config}.
 */
package dev.frugal.trainer.config;
