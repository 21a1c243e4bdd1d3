"""Deployment files (Docker, Ray, Prefect, local scripts).

Only the DeepSpeed presets under ``deepspeed/`` are read at run time; they ship as
package data of ``tsalign.infra`` (see setup.py).
"""
