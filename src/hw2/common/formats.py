"""The image files a caption set may hold, by suffix (UCM and Sydney ship .tif, RSICD .jpg): what
the unzip stage extracts and what params.yaml's captioning.images may name. In common/, not
captioning/, because the params schema every stage reads checks it: a stage depends on what it
imports, and the Fashion-MNIST stages should not depend on captioning code."""

IMAGE_SUFFIXES = (".tif", ".tiff", ".jpg", ".jpeg", ".png")
