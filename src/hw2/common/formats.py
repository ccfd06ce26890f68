"""The image files a caption set may hold, by suffix (UCM and Sydney ship .tif, RSICD .jpg): what
an image archive is unpacked for and what a list of image names may hold. In common/, not
captioning/, so that a settings check shared with the Fashion-MNIST code can read it without
importing captioning code."""

IMAGE_SUFFIXES = (".tif", ".tiff", ".jpg", ".jpeg", ".png")
