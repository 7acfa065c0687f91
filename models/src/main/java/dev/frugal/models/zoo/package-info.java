/**
 * The model zoo ({@link dev.frugal.models.zoo.ModelZoo}): {@code mlp}, {@code cnn-small},
 * {@code mobilenet-tiny} and {@code deep-mlp}, built from specs {@code NAME:key=value,...}, each
 * with its parameter count and forward FLOPs per sample, as {@code frugal models} lists them.
 */
package dev.frugal.models.zoo;
