/**
 * Language-model data and generation: {@link dev.frugal.trainer.text.Tokenizer}s (UTF-8 bytes, or
 * a text's distinct characters) kept with a run as {@code tokenizer.json}
 * ({@link dev.frugal.trainer.text.TokenizerFile}); a text file tokenized and split into training
 * tokens and a held-out tail ({@link dev.frugal.trainer.text.TextCorpus}); batches of random
 * training windows and fixed held-out windows ({@link dev.frugal.trainer.text.TokenWindows}); and
 * autoregressive sampling ({@link dev.frugal.trainer.text.TextGenerator},
 * {@link dev.frugal.trainer.text.NextTokenSampler}).
 */
package dev.frugal.trainer.text;
