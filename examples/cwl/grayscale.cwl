#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
id: grayscale
label: Turn a picture to shades of gray (ImageMagick convert -colorspace Gray).
hints:
  DockerRequirement:
    dockerPull: containerdag/imagemagick:latest
baseCommand: convert
inputs:
  picture:
    type: File
    inputBinding: {position: 1}
arguments:
  - {position: 2, prefix: -colorspace, valueFrom: Gray}
  - {position: 3, valueFrom: -strip}
  - {position: 4, prefix: -define, valueFrom: "png:exclude-chunks=date,time"}
  - {position: 5, valueFrom: $(inputs.picture.nameroot).gray.png}
outputs:
  gray:
    type: File
    outputBinding: {glob: "*.gray.png"}
