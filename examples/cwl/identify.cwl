#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
id: identify
label: Size and colour space of a picture (ImageMagick identify).
requirements:
  InlineJavascriptRequirement: {}
hints:
  DockerRequirement:
    dockerPull: containerdag/imagemagick:latest
baseCommand: [identify, -format, '%w %h %[colorspace]']
inputs:
  picture:
    type: File
    inputBinding: {position: 1}
stdout: identify.txt
outputs:
  width:
    type: int
    outputBinding:
      glob: identify.txt
      loadContents: true
      outputEval: $(parseInt(self[0].contents.split(" ")[0]))
  height:
    type: int
    outputBinding:
      glob: identify.txt
      loadContents: true
      outputEval: $(parseInt(self[0].contents.split(" ")[1]))
  colorspace:
    type: string
    outputBinding:
      glob: identify.txt
      loadContents: true
      outputEval: $(self[0].contents.split(" ")[2].trim())
