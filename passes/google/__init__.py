"""Google Wallet: loyalty class/object bodies, the skinny save JWT, and the REST client."""
