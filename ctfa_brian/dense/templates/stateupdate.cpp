{# USES_VARIABLES { N } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'common_group.cpp' %}
{# ctfa_brian dense device: Brian2's stateupdate template, plus one loop without index arrays for
   an all-to-all projection whose synapse k is i * n_post + j (``dense`` = (n_pre, n_post)) #}

{% block maincode %}
    {% if fused %}
    // ctfa_brian dense device: this update runs in the summed variable's loop (fused)
    {% else %}
    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    const int _N = {{constant_or_scalar('N', variables['N'])}};
    {% if dense %}
    const int _n_pre = {{dense[0]}}, _n_post = {{dense[1]}}, _n_blocks = {{dense[2]}};
    {% if gate and defines(scalar_code, gate) %}
    // the plasticity gate is exactly 0: dw/dt = -{{gate}}*(...) leaves every weight as it is
    if ({{gate}} == 0.0)
    {
    }
    else
    {% endif %}
    if (_N == _n_blocks * _n_pre * _n_post)
    {
        // dense: synapse k = i * n_post + j of each diagonal block, no index arrays
        for(int _i=0; _i<_n_blocks * _n_pre; _i++)
        {
            const int _j0 = (_i / _n_pre) * _n_post;  // the block's first postsynaptic index
            for(int _j=_j0; _j<_j0 + _n_post; _j++)
            {
                const size_t _idx = (size_t)_i * _n_post + (_j - _j0);
                const size_t _vectorisation_idx = _idx;
                {{dense_code(vector_code)|autoindent}}
            }
        }
    }
    else
    {% endif %}
    {
        {{openmp_pragma('parallel-static')}}
        for(int _idx=0; _idx<_N; _idx++)
        {
            // vector code
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
        }
    }
    {% endif %}
{% endblock %}
