"""Provider interface (base), errors, adapters and transformers for Ponto and Yuki."""
