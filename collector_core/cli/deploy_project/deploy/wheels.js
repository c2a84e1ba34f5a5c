'use strict';
// A local osls plugin: before the Lambda package is built, build a wheel of every requirement in
// deploy/plugins.txt into deploy/wheels/, which the package's pip install finds (serverless.yml:
// --find-links deploy/wheels). That install takes wheels only (--only-binary=:all:, so that pip
// fetches Linux wheels for Lambda whatever machine packages it): a plugin published only as an
// sdist would fail it. A pure-Python plugin's wheel serves any platform; one with compiled code
// needs a manylinux wheel from its author. Dependencies are left to the package's install
// (--no-deps): list a dependency that has no wheel in plugins.txt too.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const PLUGINS = path.join('deploy', 'plugins.txt');
const WHEELS = path.join('deploy', 'wheels');

class BuildPluginWheels {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.build(),
      'before:deploy:function:packageFunction': () => this.build(),
    };
  }

  build() {
    const root = this.serverless.config.servicePath;
    const wheels = path.join(root, WHEELS);
    fs.rmSync(wheels, { recursive: true, force: true }); // no wheel of a plugin since removed
    fs.mkdirSync(wheels, { recursive: true });
    const listed = fs.existsSync(path.join(root, PLUGINS))
      ? fs.readFileSync(path.join(root, PLUGINS), 'utf-8').split(/\r?\n/).map((line) => line.trim())
      : [];
    if (!listed.some((line) => line && !line.startsWith('#') && !line.startsWith('-'))) {
      return; // no community plugin: nothing to build
    }
    const custom = this.serverless.service.custom || {};
    const python = (custom.pythonRequirements || {}).pythonBin || 'python3';
    this.serverless.cli.log(`Building wheels of ${PLUGINS} into ${WHEELS}/ ...`);
    execFileSync(python, ['-m', 'pip', 'wheel', '--no-deps', '--wheel-dir', WHEELS, '-r', PLUGINS],
      { cwd: root, stdio: 'inherit' });
  }
}

module.exports = BuildPluginWheels;
