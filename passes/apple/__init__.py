"""Apple Wallet passes: pass.json content, PKCS#7 signing and .pkpass assembly."""

from passes.apple.pass_json import StoreCardContent, store_card_pass_json
from passes.apple.pkpass import PassAssets, build_pkpass
from passes.apple.signing import PassSigner

__all__ = [
    "PassAssets",
    "PassSigner",
    "StoreCardContent",
    "build_pkpass",
    "store_card_pass_json",
]
