#!/bin/sh
inv build-fast && inv up
