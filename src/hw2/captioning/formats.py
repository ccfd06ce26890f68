"""The image files a caption set may hold, by suffix (UCM and Sydney ship .tif, RSICD .jpg)."""

IMAGE_SUFFIXES = (".tif", ".tiff", ".jpg", ".jpeg", ".png")
