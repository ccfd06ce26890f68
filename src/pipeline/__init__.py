"""What the pipeline's stages, tools and benchmarks share beyond the library (``hw2``): the schema
of params.yaml (:mod:`pipeline.params`)."""
