"""Media types, digests and a tiny Docker v2.2 image built from the format
alone (no mlist code), shared by the fixture and the fake registry."""

import hashlib
import json

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tiny_docker_image(os_, arch, variant, layer):
    """-> (config bytes, layer bytes, manifest bytes) of a one-layer image
    whose layer holds `layer` (text)."""
    cfg = {"architecture": arch, "os": os_,
           "rootfs": {"type": "layers", "diff_ids": []}, "config": {}}
    if variant:
        cfg["variant"] = variant
    layer_b = layer.encode()
    cfg["rootfs"]["diff_ids"].append(sha256_digest(layer_b))
    cfg_b = json.dumps(cfg, sort_keys=True).encode()
    man = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
           "config": {"mediaType": DOCKER_CONFIG_TYPE, "size": len(cfg_b),
                      "digest": sha256_digest(cfg_b)},
           "layers": [{"mediaType": DOCKER_LAYER, "size": len(layer_b),
                       "digest": sha256_digest(layer_b)}]}
    return cfg_b, layer_b, json.dumps(man, indent=2).encode()
