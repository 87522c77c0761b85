"""Running skiplab the way it is deployed: the image (deploy/Dockerfile, deploy/image.py), N replicas behind nginx
(deploy/compose.yaml, deploy/replicas.py), one nginx configuration for both (deploy/nginx.conf)."""
