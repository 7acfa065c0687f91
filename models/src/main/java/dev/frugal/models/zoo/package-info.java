/**
 * The model zoo ({@link dev.frugal.models.zoo.ModelZoo}): {@code mlp}, {@code cnn-small},
 * {@code mobilenet-tiny}, {@code deep-mlp} and the language model {@code tiny-gpt}, built from
 * specs {@code NAME:key=value,...}, each with its parameter count and forward FLOPs per sample, as
 * {@code frugal models} lists them.
 */
package dev.frugal.models.zoo;
