#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
id: resize
label: Resize a picture (ImageMagick convert -resize).
doc: |
  Scales the picture to fit in `geometry` (ImageMagick geometry: 64x64 keeps the aspect
  ratio, 64x64! does not). The output is a PNG without metadata (no timestamps), so the
  same input gives the same bytes.
hints:
  DockerRequirement:
    dockerPull: containerdag/imagemagick:latest
baseCommand: convert
inputs:
  picture:
    type: File
    format: edam:format_3603
    inputBinding: {position: 1}
  geometry:
    type: string
    default: 64x64
    inputBinding: {position: 2, prefix: -resize}
  name:
    type: string
    default: resized.png
arguments:
  - {position: 3, valueFrom: -strip}
  - {position: 4, prefix: -define, valueFrom: "png:exclude-chunks=date,time"}
  - {position: 5, valueFrom: $(inputs.name)}
outputs:
  resized:
    type: File
    outputBinding: {glob: $(inputs.name)}
$namespaces:
  edam: http://edamontology.org/
