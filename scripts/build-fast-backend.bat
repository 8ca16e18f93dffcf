@echo off
inv build-fast && inv up
